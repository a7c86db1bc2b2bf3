import { accessSync, type BigIntStats, constants, realpathSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { Logger } from "../hub/logger.ts";
import { TransportError } from "../hub/transport.ts";

type StoreFileNames = readonly [database: string, log: string, logIndex: string];

/**
 * The files SQLite keeps for a store in WAL mode: the database, and its log and the log's index,
 * which SQLite names after the database's real path (a symbolic link resolved).
 */
function filesOf(path: string): StoreFileNames {
  let real = path;
  try {
    real = realpathSync(path);
  } catch {
    // Not created yet: neither are its log and index.
  }
  return [path, `${real}-wal`, `${real}-shm`];
}

interface Identity {
  readonly dev: bigint;
  readonly ino: bigint;
}

/** What is wrong with one file of the store. */
interface FileFailure {
  readonly file: string;
  /** What happened to it, and what to do: "was removed", "cannot be written (EPERM): …". */
  readonly what: string;
}

/**
 * Connections a store could not safely close (see `close`): referenced here so that no garbage
 * collection closes them either. They end with the process.
 */
const abandoned = new Set<DatabaseSync>();

/**
 * Watches the files of an open SQLite store, so that the hub refuses what the store can no longer
 * keep instead of acknowledging it, and never dies on them.
 *
 * - A file removed or replaced under the hub (`rm history.db*`, a backup moved into place): SQLite
 *   goes on writing to the files it opened, which no path names any more, and the next start opens
 *   what the path names. Every commit would be acknowledged and then lost. The files opened are
 *   known by device and inode; once the path names another file, or none, the store is lost until
 *   the hub restarts.
 * - A file that cannot be written (immutable, read-only): SQLite memory-maps the `-shm` wal-index,
 *   and writing to a mapped page of an immutable file kills the process with SIGBUS. So before
 *   each transaction every file must be writable; writing resumes once they are again.
 *
 * A check is a stat and an access(2) per file: microseconds, next to a commit's sync.
 */
export class StoreFiles {
  readonly #path: string;
  /** The names of the files, as they were when the store was opened. */
  readonly #files: StoreFileNames;
  readonly #opened: ReadonlyMap<string, Identity>;
  readonly #logger: Logger | undefined;
  /** Why the store is lost for good (a file removed or replaced), once it is. */
  #lost: FileFailure | undefined;
  /** Why a file cannot be written, as of the last check. */
  #unwritable: FileFailure | undefined;
  /** The failure last logged, so that each is logged once. */
  #reported: FileFailure | undefined;

  private constructor(
    path: string,
    files: StoreFileNames,
    opened: ReadonlyMap<string, Identity>,
    logger: Logger | undefined,
  ) {
    this.#path = path;
    this.#files = files;
    this.#opened = opened;
    this.#logger = logger;
  }

  /**
   * Before a store is opened: throws a TransportError naming the first file SQLite would have to
   * write and could not, and what to do about it. SQLite would otherwise open such a store
   * read-only and fail at the first publish.
   */
  static assertOpenable(path: string): void {
    const files = filesOf(path);
    for (const file of [dirname(path), dirname(files[1]), ...files, `${path}.lock`]) {
      const failure = unwritable(file, { missingIsFine: true });
      if (failure !== undefined) {
        throw new TransportError(`cannot open the history store ${path}: ${failure.file} ${failure.what}`);
      }
    }
  }

  /** Records the files of a store just opened (SQLite has created all three by then). */
  static watch(path: string, logger?: Logger): StoreFiles {
    const files = filesOf(path);
    const opened = new Map<string, Identity>();
    for (const file of files) {
      const { dev, ino } = statSync(file, { bigint: true });
      opened.set(file, { dev, ino });
    }
    return new StoreFiles(path, files, opened, logger);
  }

  /** Why the store cannot take updates now, naming the file but not its directory; or undefined. */
  get failure(): string | undefined {
    const failure = this.#lost ?? this.#unwritable;
    return failure && `${basename(failure.file)} ${failure.what}`;
  }

  /**
   * Before a transaction: throws a TransportError if the store was lost, or if the `-shm` cannot
   * be written (SQLite would write to its mapping, and die of SIGBUS). One access(2) per batch
   * while all is well:
   * a database or log that cannot be written makes the transaction fail on its own, and `explain`
   * names the file; a file moved away is caught after the commit; `check`, run every second,
   * keeps the health current.
   */
  assertWritable(): void {
    if (this.#lost === undefined && unwritable(this.#files[2]) === undefined) return;
    // Something is wrong: every file is checked, so that the cause is reported (once).
    this.check();
    this.#throwIfFailed();
  }

  /**
   * After a commit, before it is acknowledged: if the database or its log is no longer the file
   * opened, the commit went to files that the next start will not open. It is taken back (from
   * those files, for the replays of this run) and a TransportError thrown.
   */
  assertCommitKept(takeBack: () => void): void {
    const [db, wal] = this.#files;
    this.#lost ??= this.#moved(db) ?? this.#moved(wal);
    if (this.#lost === undefined) return;
    this.#report();
    try {
      takeBack();
    } catch {
      // The files it was committed to are lost to the next start anyway.
    }
    this.#throwIfFailed();
  }

  /**
   * Before a read, which may write to the mapped `-shm` too (SQLite's read marks): throws a
   * TransportError if that cannot be written. A lost store, or a database or log that cannot be
   * written, can still be read.
   */
  assertReadable(): void {
    const failure = unwritable(this.#files[2]);
    if (failure === undefined) return;
    this.#unwritable = failure;
    this.#report();
    throw this.#error(failure);
  }

  /** Checks every file, and logs a change: a new failure at error level, once, or its end. */
  check(): string | undefined {
    for (const file of this.#files) this.#lost ??= this.#moved(file);
    this.#unwritable = undefined;
    for (const file of this.#files) this.#unwritable ??= unwritable(file);
    this.#report();
    return this.failure;
  }

  /** A failed write's message, with the file that cannot be written, if one cannot. */
  explain(error: unknown): string {
    const message = (error as Error).message;
    if (error instanceof TransportError) return message;
    const failure = this.check();
    return failure === undefined ? message : `${message}: ${failure}`;
  }

  /**
   * Closes the connection, unless the `-shm` cannot be written: closing checkpoints the log, which
   * writes to the mapped wal-index and would crash the process. The log keeps what was committed,
   * and the next start recovers it. (SQLite itself neither checkpoints into a database file that
   * was moved or removed, nor deletes the `-wal` and `-shm` that now bear its names.)
   */
  close(db: DatabaseSync): void {
    if (unwritable(this.#files[2], { missingIsFine: true }) === undefined) db.close();
    else abandoned.add(db);
  }

  #moved(file: string): FileFailure | undefined {
    let stats: BigIntStats | undefined;
    try {
      stats = statSync(file, { bigint: true, throwIfNoEntry: false });
    } catch (error) {
      return { file, what: `cannot be found (${(error as NodeJS.ErrnoException).code})` };
    }
    if (stats === undefined) return { file, what: "was removed" };
    const opened = this.#opened.get(file)!;
    if (stats.dev !== opened.dev || stats.ino !== opened.ino)
      return { file, what: "was replaced by another file" };
    return undefined;
  }

  #throwIfFailed(): void {
    const failure = this.#lost ?? this.#unwritable;
    if (failure !== undefined) throw this.#error(failure);
  }

  #error(failure: FileFailure): TransportError {
    return new TransportError(
      `the history store ${this.#path} cannot be used: ${failure.file} ${failure.what}`,
    );
  }

  #report(): void {
    const failure = this.#lost ?? this.#unwritable;
    if (failure?.file === this.#reported?.file && failure?.what === this.#reported?.what) return;
    const ended = this.#reported;
    this.#reported = failure;
    if (failure === undefined) {
      this.#logger?.info(
        { store: this.#path, file: ended!.file },
        `the history store ${this.#path} can be written again; publishes are accepted`,
      );
      return;
    }
    const consequence =
      failure === this.#lost
        ? "publishes are refused until the hub restarts (updates acknowledged before are in the files it opened, which no path names now)"
        : "publishes are refused until it can be written";
    this.#logger?.error(
      { store: this.#path, file: failure.file },
      `the history store ${this.#path} cannot be used: ${failure.file} ${failure.what}; ${consequence}`,
    );
  }
}

/**
 * Why `file` cannot be written, or undefined if it can. access(2) sees what a stat cannot: the
 * immutable and append-only attributes, and a read-only mount.
 */
function unwritable(file: string, options: { missingIsFine?: boolean } = {}): FileFailure | undefined {
  try {
    accessSync(file, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unknown";
    if (code === "ENOENT") return options.missingIsFine ? undefined : { file, what: "was removed" };
    return { file, what: `cannot be written (${code}): ${ADVICE[code] ?? "make it writable"}` };
  }
}

const ADVICE: Readonly<Record<string, string>> = {
  EPERM: "it is immutable or append-only (lsattr shows i or a); clear that with chattr -i -a",
  EACCES: "the hub's user may not write it; correct its owner or mode (chown, chmod)",
  EROFS: "it is on a read-only file system; mount that read-write",
};
