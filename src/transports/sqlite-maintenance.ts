import { existsSync, statSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { TransportError } from "../hub/transport.ts";
import { SCHEMA_VERSION, schemaVersion } from "./sqlite-schema.ts";
import { StoreLock } from "./store-lock.ts";

/** One end of a history. */
export interface StoredUpdate {
  readonly seq: number;
  readonly id: string;
  /** When the hub stored it (ms since the epoch). */
  readonly publishedAt: number;
}

export interface StoreReport {
  readonly path: string;
  /** Whether a hub (or another process) holds the store's lock right now. */
  readonly inUse: boolean;
  readonly count: number;
  /** What the size limit counts: the updates' SSE frames and topics. */
  readonly storedBytes: number;
  /** The database file and its write-ahead log. */
  readonly fileBytes: number;
  readonly oldest: StoredUpdate | undefined;
  readonly newest: StoredUpdate | undefined;
}

/** What to keep; each bound removes the oldest updates until it holds. */
export interface TrimBounds {
  readonly maxCount?: number;
  readonly maxAgeMs?: number;
  readonly maxBytes?: number;
}

export interface TrimReport {
  readonly removed: number;
  readonly kept: number;
  /** The file size before and after, when the store was vacuumed. */
  readonly vacuumed?: { readonly before: number; readonly after: number };
}

/** Rows deleted per transaction, so the write-ahead log stays small. */
const DELETE_CHUNK = 10_000;

/** Reads what a store holds without writing to it; a running hub may keep writing meanwhile. */
export function inspectStore(path: string): StoreReport {
  if (!existsSync(path)) throw new TransportError(`there is no history store at ${path}`);
  const inUse = StoreLock.isHeld(path);
  const db = openExisting(path, true);
  try {
    const totals = db.prepare("SELECT COUNT(*) AS count, TOTAL(size) AS bytes FROM updates").get() as {
      count: number;
      bytes: number;
    };
    const end = (order: "ASC" | "DESC") =>
      toStored(
        db.prepare(`SELECT seq, id, published_at FROM updates ORDER BY seq ${order} LIMIT 1`).get() as
          | StoredRow
          | undefined,
      );
    return {
      path,
      inUse,
      count: totals.count,
      storedBytes: totals.bytes,
      fileBytes: fileBytes(path),
      oldest: end("ASC"),
      newest: end("DESC"),
    };
  } finally {
    db.close();
  }
}

/**
 * Removes the oldest updates of a store no hub is using, until every bound holds, in chunks;
 * `vacuum` then gives the freed pages back to the file system (a hub reuses them otherwise).
 * Only a prefix of history is ever removed, so a cursor never skips a gap.
 */
export function trimStore(
  path: string,
  bounds: TrimBounds,
  options: { vacuum?: boolean; now?: number } = {},
): TrimReport {
  if (!existsSync(path)) throw new TransportError(`there is no history store at ${path}`);
  const lock = StoreLock.acquire(
    path,
    "stop the hub first (a running hub trims by its own --history-* options)",
  );
  const db = openExisting(path, false);
  try {
    const last = lastSeqToRemove(db, bounds, options.now ?? Date.now());
    let removed = 0;
    if (last !== undefined) {
      const removeChunk = db.prepare(
        "DELETE FROM updates WHERE seq IN (SELECT seq FROM updates WHERE seq <= ? ORDER BY seq LIMIT ?)",
      );
      for (;;) {
        const { changes } = removeChunk.run(last, DELETE_CHUNK);
        removed += Number(changes);
        if (Number(changes) < DELETE_CHUNK) break;
      }
    }
    const { count } = db.prepare("SELECT COUNT(*) AS count FROM updates").get() as { count: number };
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!options.vacuum) return { removed, kept: count };
    const before = fileBytes(path);
    db.exec("VACUUM; PRAGMA wal_checkpoint(TRUNCATE)");
    return { removed, kept: count, vacuumed: { before, after: fileBytes(path) } };
  } finally {
    db.close();
    lock.release();
  }
}

/** The newest seq that some bound requires removing, if any. */
function lastSeqToRemove(db: DatabaseSync, bounds: TrimBounds, now: number): number | undefined {
  const candidates: (number | null | undefined)[] = [];
  const seqOf = (sql: string, ...params: number[]) =>
    (db.prepare(sql).get(...params) as { seq: number | null } | undefined)?.seq;
  if (bounds.maxCount !== undefined) {
    candidates.push(seqOf("SELECT seq FROM updates ORDER BY seq DESC LIMIT 1 OFFSET ?", bounds.maxCount));
  }
  if (bounds.maxAgeMs !== undefined) {
    candidates.push(
      seqOf("SELECT MAX(seq) AS seq FROM updates WHERE published_at < ?", now - bounds.maxAgeMs),
    );
  }
  if (bounds.maxBytes !== undefined) {
    // The newest update that no longer fits, counting sizes from the newest end.
    candidates.push(
      seqOf(
        `SELECT seq FROM (SELECT seq, SUM(size) OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS kept FROM updates)
         WHERE kept > ? LIMIT 1`,
        bounds.maxBytes,
      ),
    );
  }
  const seqs = candidates.filter((seq): seq is number => typeof seq === "number");
  return seqs.length === 0 ? undefined : Math.max(...seqs);
}

interface StoredRow {
  seq: number;
  id: string;
  published_at: number;
}

function toStored(row: StoredRow | undefined): StoredUpdate | undefined {
  return row && { seq: row.seq, id: row.id, publishedAt: row.published_at };
}

function openExisting(path: string, readOnly: boolean): DatabaseSync {
  if (!existsSync(path)) throw new TransportError(`there is no history store at ${path}`);
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path, { readOnly });
    const version = schemaVersion(db);
    if (version !== SCHEMA_VERSION) {
      throw new Error(
        version === 0
          ? "it is not a Quicksilver history store"
          : `it has schema version ${version}; this Quicksilver reads version ${SCHEMA_VERSION}`,
      );
    }
    return db;
  } catch (error) {
    db?.close();
    throw new TransportError(`cannot read the history store ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function fileBytes(path: string): number {
  const size = (file: string) => (existsSync(file) ? statSync(file).size : 0);
  return size(path) + size(`${path}-wal`);
}
