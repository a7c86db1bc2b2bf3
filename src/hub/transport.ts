import type { Update } from "./update.ts";

export { TransportError } from "./transport-error.ts";

/**
 * What a subscriber reconnecting with a cursor gets: the updates kept after it, and the anchor to
 * answer in `Mercure-Last-Event-ID` (the id of the event preceding the first one sent, or
 * `earliest` when the replay starts at the oldest kept update: the cursor was `earliest`,
 * unknown or already discarded, or history is empty).
 */
export interface Replay {
  readonly anchor: string;
  readonly updates: Iterable<Update> | AsyncIterable<Update>;
}

/**
 * Stores history and carries updates between the processes that share it.
 *
 * The contract (tested by test/transport-contract.ts for every transport):
 * - `publish` sets `update.seq`, stores the update, and only then hands it to the listener; it
 *   resolves once the update is stored, which is when the hub acknowledges the publish.
 * - `seq` strictly increases in the order updates reach the listener.
 * - `replay(cursor)` yields, in order, every update stored after the cursor's earliest occurrence
 *   at the time of the call. An update stored before `replay` is called is either in the replay
 *   or handed to the listener afterwards (or both: the hub drops duplicates by `seq`).
 * - Subscription events (`kind: "subscription"`) go through `publish`, the listener and `replay`
 *   like any update, in the same order of seqs, but are kept apart under their own bound: however
 *   many there are, they never push a published update out of history.
 */
export interface Transport {
  publish(update: Update): Promise<void>;
  /** Sets the one listener: the hub's dispatcher. */
  listen(listener: (update: Update) => void): void;
  /**
   * `visible` says whether the subscriber may know of an update: a cursor naming one it may not
   * (a private update it cannot read) is answered as an unknown cursor, so that the anchor never
   * confirms that such an id exists.
   */
  replay(cursor: string, visible?: (update: Pick<Update, "topics" | "private">) => boolean): Replay;
  /** The id of the newest update kept, if any. */
  lastEventId(): string | undefined;
  close(): Promise<void>;
  /**
   * Optional, for a transport with a store that can fail while it runs: what keeps it from storing
   * updates now (a sentence that names no directory), or undefined while it can. The hub's health
   * reports it.
   */
  storeFailure?(): string | undefined;
}
