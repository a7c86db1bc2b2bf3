import type { DatabaseSync } from "node:sqlite";
import type { Update } from "../hub/update.ts";
import { decodeEvent, type SseFields } from "../protocol/sse-encoder.ts";

/** The schema this version reads and writes, kept in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 1;

/** One stored update, as a page of a replay reads it. */
export interface UpdateRow {
  seq: number;
  id: string;
  topics: string;
  private: number;
  frame: Uint8Array;
}

/** The columns `toUpdate` needs, in the order of `UpdateRow`. */
export const UPDATE_COLUMNS = "seq, id, topics, private, frame";

/**
 * An update read back. Its data, type and retry are in the frame, which is all a replay sends:
 * they are decoded from it only if asked for, so a replay never pays for them.
 */
class StoredUpdate implements Update {
  /** Subscription events are never stored: they describe streams that end with the process. */
  readonly kind = "update";
  readonly id: string;
  readonly topics: readonly string[];
  readonly private: boolean;
  readonly frame: Buffer;
  #fields: SseFields | undefined;

  constructor(row: UpdateRow) {
    this.id = row.id;
    this.topics = JSON.parse(row.topics) as string[];
    this.private = row.private === 1;
    this.frame = Buffer.from(row.frame.buffer, row.frame.byteOffset, row.frame.byteLength);
  }

  get data(): string {
    return this.#decoded().data;
  }

  get type(): string | undefined {
    return this.#decoded().type;
  }

  get retry(): string | undefined {
    return this.#decoded().retry;
  }

  #decoded(): SseFields {
    this.#fields ??= decodeEvent(this.frame.toString());
    return this.#fields;
  }
}

export function toUpdate(row: UpdateRow): Update {
  return new StoredUpdate(row);
}

/** The schema version of an open database: 0 for a new, empty file. */
export function schemaVersion(db: DatabaseSync): number {
  return (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/** Creates the schema, or checks that an existing store has the one this version reads. */
export function migrate(db: DatabaseSync): void {
  const version = schemaVersion(db);
  if (version === SCHEMA_VERSION) return;
  if (version !== 0) {
    throw new Error(
      `the store has schema version ${version}; this Quicksilver reads version ${SCHEMA_VERSION}`,
    );
  }
  // AUTOINCREMENT: a seq is never reused, even after the newest rows were trimmed and the hub
  // restarted. The frame is the update as subscribers get it, and holds its data, type and retry.
  // `size` is what the size limit counts: the frame and the topics.
  db.exec(`
    BEGIN;
    CREATE TABLE updates (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL,
      topics TEXT NOT NULL,
      private INTEGER NOT NULL,
      frame BLOB NOT NULL,
      size INTEGER NOT NULL,
      published_at INTEGER NOT NULL
    );
    CREATE INDEX updates_by_id ON updates (id);
    PRAGMA user_version = ${SCHEMA_VERSION};
    COMMIT;
  `);
}
