import { DatabaseSync } from "node:sqlite";
import { TransportError } from "../hub/transport.ts";

const SQLITE_BUSY = 5;

/**
 * Proof that this process is the one writer of a history store.
 *
 * Two hubs writing one store would each dispatch only their own publishes while replaying both,
 * so the second is refused. The lock is an exclusive SQLite lock on `<store>.lock`, a file lock
 * the kernel drops when the process dies, even by SIGKILL: a crash never leaves a stale lock.
 * Readers of the store itself (`quicksilver history`) are not blocked.
 */
export class StoreLock {
  readonly #db: DatabaseSync;

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Takes the lock of the store at `path`, or throws a TransportError saying that another
   * process holds it, followed by `advice` (what to do about it).
   */
  static acquire(path: string, advice: string): StoreLock {
    const lock = StoreLock.#tryAcquire(path);
    if (lock !== "busy") return lock;
    throw new TransportError(
      `the history store ${path} is in use by another process (it holds ${path}.lock); ${advice}`,
    );
  }

  /** Whether another process (or another transport in this one) holds the lock right now. */
  static isHeld(path: string): boolean {
    const lock = StoreLock.#tryAcquire(path);
    if (lock === "busy") return true;
    lock.release();
    return false;
  }

  static #tryAcquire(path: string): StoreLock | "busy" {
    let db: DatabaseSync | undefined;
    try {
      db = new DatabaseSync(`${path}.lock`);
      // In exclusive locking mode the lock a write takes is kept until the connection closes.
      db.exec("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;");
      return new StoreLock(db);
    } catch (error) {
      db?.close();
      if ((error as { errcode?: number }).errcode === SQLITE_BUSY) return "busy";
      throw new TransportError(`cannot lock the history store ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  release(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
