import type { DatabaseSync } from "node:sqlite";
import type { Update } from "../hub/update.ts";

/** The schema this version reads and writes, kept in `PRAGMA user_version`. */
export const SCHEMA_VERSION = 1;

/** One stored update, as a page of a replay reads it. */
export interface UpdateRow {
  seq: number;
  id: string;
  topics: string;
  data: string;
  type: string | null;
  retry: string | null;
  private: number;
  frame: Uint8Array;
}

/** The columns `toUpdate` needs, in the order of `UpdateRow`. */
export const UPDATE_COLUMNS = "seq, id, topics, data, type, retry, private, frame";

export function toUpdate(row: UpdateRow): Update {
  return {
    id: row.id,
    topics: JSON.parse(row.topics) as string[],
    data: row.data,
    type: row.type ?? undefined,
    retry: row.retry ?? undefined,
    private: row.private === 1,
    seq: row.seq,
    frame: Buffer.from(row.frame.buffer, row.frame.byteOffset, row.frame.byteLength),
  };
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
  // restarted. `size` is what the size limit counts: the SSE frame and the topics.
  db.exec(`
    BEGIN;
    CREATE TABLE updates (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL,
      topics TEXT NOT NULL,
      data TEXT NOT NULL,
      type TEXT,
      retry TEXT,
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
