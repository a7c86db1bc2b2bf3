import type { Connection } from "./connection.ts";

/** Sockets written per turn of the event loop when many have something queued. */
export const FLUSH_SLICE = 1024;
/**
 * Bytes written per turn at most (one socket's worth at least): a slice of large updates is
 * hundreds of megabytes copied into sockets, and every other request would wait for it.
 */
export const FLUSH_SLICE_BYTES = 16 * 1024 * 1024;
/** Written entries the pending list may keep before it is compacted. */
const COMPACT_FLUSHED = 16 * FLUSH_SLICE;

/**
 * Writes the connections that have something queued, after the current I/O phase: every update
 * dispatched in it leaves in one write per socket. Many sockets are written a slice per turn.
 */
export class FlushScheduler {
  readonly #now: () => number;
  readonly #onError: (connection: Connection, error: unknown) => void;
  /** Connections with something queued, in the order they got it; the first `#written` are written. */
  #pending: Connection[] = [];
  #written = 0;
  #scheduled = false;

  /** `onError`: a connection whose flush threw (it costs that connection, never the others). */
  constructor(now: () => number, onError: (connection: Connection, error: unknown) => void) {
    this.#now = now;
    this.#onError = onError;
  }

  /** Queues a connection for the next flush. Bound once, and handed to every connection. */
  readonly schedule = (connection: Connection): void => {
    this.#pending.push(connection);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flushSlice);
  };

  readonly #flushSlice = (): void => {
    // A slice at a time, letting the event loop read publishes in between: a fan-out to many
    // sockets would otherwise hold every publish (and its acknowledgement) until the last write,
    // and the events published meanwhile join the queues of the sockets not yet written.
    const pending = this.#pending;
    let end = Math.min(pending.length, this.#written + FLUSH_SLICE);
    const now = this.#now();
    let bytes = 0;
    for (let i = this.#written; i < end; i++) {
      const connection = pending[i]!;
      bytes += connection.queuedBytes;
      try {
        connection.flush(now);
      } catch (error) {
        this.#onError(connection, error);
      }
      if (bytes >= FLUSH_SLICE_BYTES) end = i + 1;
    }
    if (end < pending.length) {
      // Under a steady stream of events the list never empties: drop the written part now and
      // then, so that it holds each waiting connection about once rather than growing.
      if (end >= COMPACT_FLUSHED) {
        this.#pending = pending.slice(end);
        this.#written = 0;
      } else {
        this.#written = end;
      }
      setImmediate(this.#flushSlice);
      return;
    }
    this.#pending = [];
    this.#written = 0;
    this.#scheduled = false;
  };
}
