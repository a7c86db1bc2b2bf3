import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Logger } from "../hub/logger.ts";
import {
  type Position,
  type Replay,
  type ReportsHealth,
  type ReportsHistorySize,
  type Transport,
  TransportError,
  type TransportHealth,
  type UpdateListener,
} from "../hub/transport.ts";
import type { Update } from "../hub/update.ts";
import { EARLIEST } from "../protocol/cursor.ts";
import { DEFAULT_SUBSCRIPTION_HISTORY_SIZE } from "./memory.ts";
import { migrate, toUpdate, UPDATE_COLUMNS, type UpdateRow } from "./sqlite-schema.ts";
import { StoreFiles } from "./store-files.ts";
import { StoreLock } from "./store-lock.ts";
import {
  compareSeqPositions,
  mergeBySeq,
  overtaken,
  type SequencedUpdate,
  sequenced,
  UpdateRing,
} from "./update-ring.ts";

/**
 * How hard a commit is pushed to disk. `full` (the default) syncs the write-ahead log on every
 * commit: an acknowledged update survives a crash of the process and of the machine. `normal`
 * syncs only at checkpoints: it survives the process being killed, not a power cut, and costs
 * less per commit.
 */
export type SqliteDurability = "full" | "normal";

export interface HistoryRetention {
  /** Most updates kept; 0 keeps none. */
  readonly maxCount: number;
  /** Updates older than this are dropped (ms); undefined keeps them whatever their age. */
  readonly maxAgeMs?: number;
  /** Most bytes of stored updates (their SSE frames and topics); undefined for no bound. */
  readonly maxBytes?: number;
}

export interface SqliteTransportOptions {
  /** The database file; its directory is created if missing. */
  readonly path: string;
  readonly retention: HistoryRetention;
  /** How many subscription events are kept in memory beside the store (default 10,000). */
  readonly subscriptionHistorySize?: number;
  readonly durability?: SqliteDurability;
  /** How often age and large excesses are trimmed in the background (ms). */
  readonly trimIntervalMs?: number;
  readonly now?: () => number;
  /** Where a store that becomes unusable (its files removed, replaced, unwritable) is reported. */
  readonly logger?: Logger;
}

/** What trimming returns of each row it deletes. */
interface TrimmedRow {
  readonly seq: number;
  readonly size: number;
}

interface Pending {
  readonly update: Update;
  readonly resolve: (position: Position) => void;
  readonly reject: (error: unknown) => void;
}

/** Most rows read per page of a replay. */
const REPLAY_PAGE = 256;
/**
 * Most bytes of frames read per page of a replay (one row more, however large, so that a replay
 * always moves on). A page waits in memory for a subscriber's socket: counted in rows alone, a
 * page of large updates would hold hundreds of megabytes for each subscriber that reads slowly.
 */
const REPLAY_PAGE_BYTES = 1024 * 1024;
/**
 * Most bytes of updates committed in one transaction (one update at least): a commit holds the
 * event loop, and a burst of large publishes in one turn would otherwise be one long commit that
 * every other request waits for. The rest is committed in the next turn.
 */
const COMMIT_BYTES = 16 * 1024 * 1024;
/** Rows deleted per transaction when trimming in the background, so publishes interleave. */
const TRIM_CHUNK = 1000;

/**
 * History in an SQLite database (node:sqlite, write-ahead log), so it survives restarts.
 *
 * Publishes that arrive in the same turn of the event loop are committed in one transaction
 * (group commit): one sync to disk for all of them, and each publish resolves, and is
 * acknowledged, only after that commit. `seq` is the row id, so order and seqs survive restarts;
 * a position is the seq in decimal.
 * A cursor is found through an index on `id`, whatever the history size; a replay reads pages
 * of rows as the subscriber's socket takes them.
 *
 * Retention by count and size is applied in the publishing transaction for the rows it adds (so
 * history never overshoots), by age and for larger excesses by a background timer in chunks.
 * One transport writes a store at a time (see StoreLock).
 *
 * Subscription events are kept in memory, never in the store: they describe streams that end with
 * this process, so a restart must not replay them, and they must not cost a sync each nor count
 * against the store's retention. They share the seq counter with stored updates, so a replay is
 * one ordered merge of both, and a cursor may name either.
 */
export class SqliteTransport implements Transport, ReportsHealth, ReportsHistorySize {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #logger: Logger | undefined;
  readonly #lock: StoreLock;
  readonly #files: StoreFiles;
  readonly #retention: HistoryRetention;
  readonly #now: () => number;
  readonly #insert: StatementSync;
  readonly #findCursor: StatementSync;
  readonly #findNewest: StatementSync;
  readonly #page: StatementSync;
  readonly #dropOldest: StatementSync;
  readonly #dropOlderThan: StatementSync;
  readonly #withdraw: StatementSync;
  readonly #trimTimer: NodeJS.Timeout;
  readonly #subscriptionEvents: UpdateRing;
  /** The next seq to give: stored updates take theirs at commit, subscription events at once. */
  #nextSeq: number;
  #listener: UpdateListener = () => {};
  #batch: Pending[] = [];
  #flushScheduled = false;
  #count: number;
  #bytes: number;
  /**
   * Why the last commit failed (a full disk, an I/O error), until one succeeds: the store's files
   * may all be in place and writable while nothing can be committed.
   */
  #commitFailure: string | undefined;
  /** The seq of the newest update trimmed by retention in this run (0 before the first). */
  #trimmedThrough = 0;
  #closed = false;

  constructor(options: SqliteTransportOptions) {
    this.#retention = options.retention;
    this.#path = options.path;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#subscriptionEvents = new UpdateRing(
      options.subscriptionHistorySize ?? DEFAULT_SUBSCRIPTION_HISTORY_SIZE,
      { owesEveryUpdate: false },
    );
    try {
      mkdirSync(dirname(options.path), { recursive: true });
    } catch (error) {
      throw new TransportError(`cannot open the history store ${options.path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    StoreFiles.assertOpenable(options.path);
    this.#lock = StoreLock.acquire(options.path, "stop it, or give this hub another store");
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(options.path);
      this.#db = db;
      this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${options.durability ?? "full"};`);
      migrate(this.#db);
      this.#files = StoreFiles.watch(options.path, options.logger);
      this.#insert = this.#db.prepare(
        "INSERT INTO updates (seq, id, topics, private, frame, size, published_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      this.#findCursor = this.#db.prepare(
        "SELECT seq, topics, private FROM updates WHERE id = ? ORDER BY seq LIMIT 1",
      );
      this.#findNewest = this.#db.prepare(
        "SELECT seq, topics, private, frame FROM updates WHERE id = ? ORDER BY seq DESC LIMIT 1",
      );
      this.#page = this.#db.prepare(
        `SELECT ${UPDATE_COLUMNS} FROM updates WHERE seq > ? ORDER BY seq LIMIT ?`,
      );
      this.#dropOldest = this.#db.prepare(
        "DELETE FROM updates WHERE seq IN (SELECT seq FROM updates ORDER BY seq LIMIT ?) RETURNING seq, size",
      );
      this.#dropOlderThan = this.#db.prepare(
        "DELETE FROM updates WHERE seq IN (SELECT seq FROM updates ORDER BY seq LIMIT ?) AND published_at < ? RETURNING seq, size",
      );
      this.#withdraw = this.#db.prepare("DELETE FROM updates WHERE seq >= ?");
      const totals = this.#db
        .prepare("SELECT COUNT(*) AS count, TOTAL(size) AS bytes FROM updates")
        .get() as {
        count: number;
        bytes: number;
      };
      this.#count = totals.count;
      this.#bytes = totals.bytes;
      // AUTOINCREMENT remembers the highest seq ever given, even when those rows were trimmed.
      const highest = this.#db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'updates'").get() as
        | { seq: number }
        | undefined;
      this.#nextSeq = (highest?.seq ?? 0) + 1;
    } catch (error) {
      db?.close();
      this.#lock.release();
      throw new TransportError(`cannot open the history store ${options.path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#trimTimer = setInterval(() => this.#trimInBackground(), options.trimIntervalMs ?? 1000).unref();
  }

  /** Updates kept, and the bytes they take (frames and topics). */
  get stats(): { count: number; bytes: number } {
    return { count: this.#count, bytes: this.#bytes };
  }

  /** The count kept as rows are stored and trimmed: never a COUNT(*) of the table. */
  historySize(): number {
    return this.#count;
  }

  listen(listener: UpdateListener): void {
    this.#listener = listener;
  }

  publish(update: Update): Promise<Position> {
    if (this.#closed) return Promise.reject(new TransportError("the history store is closed"));
    if (update.kind === "subscription") {
      const entry = sequenced(update, this.#nextSeq++);
      this.#subscriptionEvents.push(entry);
      this.#listener(update, entry.position);
      return Promise.resolve(entry.position);
    }
    return new Promise((resolve, reject) => {
      this.#batch.push({ update, resolve, reject });
      if (this.#flushScheduled) return;
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    });
  }

  /** Commits the batch in one transaction, then dispatches and acknowledges it, in order. */
  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#takeBatch();
    if (batch.length === 0) return;
    const publishedAt = this.#now();
    // What history held before: a transaction rolled back undoes its trimming too, not only its rows.
    const { count, bytes } = this.stats;
    const trimmedThrough = this.#trimmedThrough;
    const firstSeq = this.#nextSeq;
    let added = 0;
    let committed = false;
    /** Each publish's position, and the publishes stored (not repeats of a kept update). */
    const positions: Position[] = [];
    const stored: Pending[] = [];
    try {
      this.#files.assertWritable();
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        for (const pending of batch) {
          const { update } = pending;
          const topics = JSON.stringify(update.topics);
          const repeated = this.#repeatedSeq(update, topics);
          if (repeated !== undefined) {
            positions.push(String(repeated));
            continue;
          }
          const size = update.frame.length + topics.length;
          const seq = this.#nextSeq++;
          this.#insert.run(seq, update.id, topics, update.private ? 1 : 0, update.frame, size, publishedAt);
          positions.push(String(seq));
          stored.push(pending);
          added += size;
        }
        this.#count += stored.length;
        this.#bytes += added;
        // Bounded by the batch: what this transaction added, and as much again of older excess.
        this.#trimExcess(2 * batch.length + 16);
        this.#db.exec("COMMIT");
        committed = true;
        // After the COMMIT, before anything is acknowledged or dispatched: a commit into files the
        // path no longer names is lost at the next start, so it is refused, and taken back so that
        // no replay sends it either.
        this.#files.assertCommitKept(() => this.#withdraw.run(firstSeq));
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
        if (committed) {
          // Taken back after its commit (see assertCommitKept): the trimming stands, the rows do not.
          this.#count -= stored.length;
          this.#bytes -= added;
        } else {
          // Rolled back (a failed COMMIT may roll back by itself): the trimming is undone too.
          this.#count = count;
          this.#bytes = bytes;
          this.#trimmedThrough = trimmedThrough;
        }
        throw error;
      }
    } catch (error) {
      const reason = this.#files.explain(error);
      // A failure of the files is watched (and reported) by StoreFiles; any other is the commit's.
      if (!(error instanceof TransportError)) this.#failCommits(reason);
      const failure = new TransportError(`cannot write to the history store: ${reason}`, { cause: error });
      for (const pending of batch) pending.reject(failure);
      return;
    }
    this.#commitsWork();
    // A repeat is acknowledged with the position of the update it repeats, and handed over once only.
    const handedOver = new Set(stored);
    batch.forEach((pending, i) => {
      if (handedOver.has(pending)) this.#listener(pending.update, positions[i]!);
      pending.resolve(positions[i]!);
    });
  }

  /** The seq of the newest kept update that `update` repeats (same id and fields), if any. */
  #repeatedSeq(update: Update, topics: string): number | undefined {
    const row = this.#findNewest.get(update.id) as
      | { seq: number; topics: string; private: number; frame: Uint8Array }
      | undefined;
    if (row === undefined || row.topics !== topics || row.private !== (update.private ? 1 : 0))
      return undefined;
    // The frame holds the id, type, retry and data: equal frames are equal fields.
    return Buffer.from(row.frame.buffer, row.frame.byteOffset, row.frame.byteLength).equals(update.frame)
      ? row.seq
      : undefined;
  }

  /** The publishes to commit now, at most COMMIT_BYTES of them; the rest wait for the next turn. */
  #takeBatch(): Pending[] {
    let bytes = 0;
    let end = 0;
    while (end < this.#batch.length && (end === 0 || bytes < COMMIT_BYTES)) {
      bytes += this.#batch[end]!.update.frame.length;
      end++;
    }
    const batch = end === this.#batch.length ? this.#batch : this.#batch.slice(0, end);
    this.#batch = end === this.#batch.length ? [] : this.#batch.slice(end);
    if (this.#batch.length > 0) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    return batch;
  }

  /** Drops the oldest rows while history is over its count or size, at most `limit` of them. */
  #trimExcess(limit: number): number {
    const { maxCount, maxBytes } = this.#retention;
    let excess = Math.max(0, this.#count - maxCount);
    if (maxBytes !== undefined && this.#bytes > maxBytes && excess === 0) excess = 1;
    let dropped = 0;
    while (excess > 0 && dropped < limit) {
      const rows = this.#dropOldest.all(Math.min(excess, limit - dropped)) as unknown as TrimmedRow[];
      if (rows.length === 0) break;
      this.#forget(rows);
      dropped += rows.length;
      excess = Math.max(0, this.#count - maxCount);
      if (maxBytes !== undefined && this.#bytes > maxBytes && excess === 0) excess = 1;
    }
    return dropped;
  }

  #forget(rows: readonly TrimmedRow[]): void {
    this.#count -= rows.length;
    for (const row of rows) {
      this.#bytes -= row.size;
      if (row.seq > this.#trimmedThrough) this.#trimmedThrough = row.seq;
    }
  }

  #failCommits(reason: string): void {
    if (this.#commitFailure === undefined) {
      this.#logger?.error(
        { store: this.#path },
        `the history store ${this.#path} cannot commit: ${reason}; publishes are refused until it can`,
      );
    }
    this.#commitFailure = `commits fail: ${reason}`;
  }

  #commitsWork(): void {
    if (this.#commitFailure === undefined) return;
    this.#commitFailure = undefined;
    this.#logger?.info(
      { store: this.#path },
      `the history store ${this.#path} commits again; publishes are accepted`,
    );
  }

  /**
   * While commits fail, a commit that writes one page (the header's user version, set to what it
   * is), so that the store is known to work again without a publish: health reports the failure,
   * and a hub taken out of service because of it gets no publish to find out with.
   */
  #probeCommit(): void {
    try {
      const { user_version: version } = this.#db.prepare("PRAGMA user_version").get() as {
        user_version: number;
      };
      this.#db.exec(`BEGIN IMMEDIATE; PRAGMA user_version = ${version}; COMMIT`);
      this.#commitsWork();
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      this.#failCommits((error as Error).message);
    }
  }

  /** Age, and excesses larger than a batch (a lowered limit), one chunk per turn of the loop. */
  #trimInBackground(): void {
    // Also the periodic check of the store's files, so that health reports a failure unprompted.
    if (this.#closed || this.#files.check() !== undefined) return;
    if (this.#commitFailure !== undefined) {
      this.#probeCommit();
      if (this.#commitFailure !== undefined) return;
    }
    const { count, bytes } = this.stats;
    const trimmedThrough = this.#trimmedThrough;
    let dropped = 0;
    try {
      this.#db.exec("BEGIN IMMEDIATE");
      dropped = this.#trimExcess(TRIM_CHUNK);
      const { maxAgeMs } = this.#retention;
      if (maxAgeMs !== undefined && dropped < TRIM_CHUNK) {
        const rows = this.#dropOlderThan.all(
          TRIM_CHUNK - dropped,
          this.#now() - maxAgeMs,
        ) as unknown as TrimmedRow[];
        this.#forget(rows);
        dropped += rows.length;
      }
      this.#db.exec("COMMIT");
    } catch {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      // Rolled back: so is the trimming.
      this.#count = count;
      this.#bytes = bytes;
      this.#trimmedThrough = trimmedThrough;
      return; // retried at the next tick; publishes report their own failures
    }
    if (dropped === TRIM_CHUNK) setImmediate(() => this.#trimInBackground());
  }

  async replay(
    cursor: string,
    visible?: (update: Pick<Update, "topics" | "private">) => boolean,
  ): Promise<Replay> {
    this.#files.assertReadable();
    const found = cursor === EARLIEST ? undefined : this.#find(cursor);
    const known = found !== undefined && (visible === undefined || visible(found));
    const after = known ? found.seq : 0;
    return {
      anchor: known ? cursor : EARLIEST,
      // From the oldest row kept now: those trimmed already are not owed.
      entries: mergeBySeq(
        this.#rowsAfter(Math.max(after, this.#trimmedThrough)),
        this.#subscriptionEvents.after(after),
      ),
    };
  }

  /** The earliest occurrence of an id, stored or a subscription event (a publisher may reuse any id). */
  #find(id: string): ({ seq: number } & Pick<Update, "topics" | "private">) | undefined {
    const row = this.#findCursor.get(id) as { seq: number; topics: string; private: number } | undefined;
    const event = this.#subscriptionEvents.find(id);
    if (row === undefined || (event !== undefined && event.seq < row.seq)) {
      return event && { seq: event.seq, topics: event.update.topics, private: event.update.private };
    }
    return { seq: row.seq, topics: JSON.parse(row.topics) as string[], private: row.private === 1 };
  }

  comparePositions(a: Position, b: Position): number {
    return compareSeqPositions(a, b);
  }

  *#rowsAfter(seq: number): Generator<SequencedUpdate> {
    let after = seq;
    for (;;) {
      if (this.#closed) return;
      this.#files.assertReadable();
      // Trimmed while the replay waited for its subscriber: what it had yet to send is gone.
      if (this.#trimmedThrough > after) throw overtaken();
      const page = this.#readPage(after);
      for (const row of page.rows) {
        yield sequenced(toUpdate(row), row.seq);
        after = row.seq;
      }
      if (page.last) return;
    }
  }

  /**
   * The rows after `seq`, up to REPLAY_PAGE of them or REPLAY_PAGE_BYTES of frames. Read in one
   * synchronous run: no statement stays open while the replay waits, which would keep a read
   * snapshot and let the write-ahead log grow without bound behind it.
   */
  #readPage(seq: number): { rows: UpdateRow[]; last: boolean } {
    const rows: UpdateRow[] = [];
    let bytes = 0;
    // Leaving the loop early resets the statement.
    for (const row of this.#page.iterate(seq, REPLAY_PAGE) as IterableIterator<UpdateRow>) {
      rows.push(row);
      bytes += row.frame.length;
      if (bytes >= REPLAY_PAGE_BYTES && rows.length < REPLAY_PAGE) return { rows, last: false };
    }
    return { rows, last: rows.length < REPLAY_PAGE };
  }

  /** Unhealthy while the store's files are missing or unusable, or while commits fail. */
  health(): TransportHealth {
    const failure = this.#closed ? undefined : (this.#files.check() ?? this.#commitFailure);
    return failure === undefined ? { healthy: true } : { healthy: false, reason: failure };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Whatever was accepted before close is committed (and acknowledged) first.
    while (this.#batch.length > 0) this.#flush();
    this.#closed = true;
    clearInterval(this.#trimTimer);
    this.#files.close(this.#db);
    this.#lock.release();
  }
}
