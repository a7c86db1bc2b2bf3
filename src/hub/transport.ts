import type { Update } from "./update.ts";

export { TransportError } from "./transport-error.ts";

/**
 * A place in a transport's log. Opaque to the hub, which never parses one and compares two only
 * through `Transport.comparePositions`: a transport encodes them as it likes (the memory and SQLite
 * transports use their seqs in decimal; a Redis Stream id such as `"1700000000000-3"` can be one).
 */
export type Position = string;

/** An update and its position, as a replay yields it. */
export interface ReplayEntry {
  readonly update: Update;
  readonly position: Position;
}

/**
 * What a subscriber reconnecting with a cursor gets: the updates kept after it, and the anchor to
 * answer in `Mercure-Last-Event-ID` (the id of the event preceding the first one sent, or
 * `earliest` when the replay starts at the oldest kept update: the cursor was `earliest`,
 * unknown or already discarded, or history is empty).
 */
export interface Replay {
  readonly anchor: string;
  readonly entries: Iterable<ReplayEntry> | AsyncIterable<ReplayEntry>;
}

/** Hands the hub each update with its position, in the order of positions. */
export type UpdateListener = (update: Update, position: Position) => void;

/**
 * Stores history and carries updates between the processes that share it.
 *
 * The contract (tested for every transport by the suite in src/testing/transport-contract.ts, which
 * an out-of-tree transport runs too):
 * - `publish` gives the update a position, stores it, and only then hands it to the listener; it
 *   resolves with that position once the update is stored, which is when the hub acknowledges the
 *   publish. The transport never writes to the update: the hub's `Update` is immutable.
 * - An update that repeats the newest kept update with its id (`isRepeatOf`: a publisher's retry)
 *   is that update: `publish` resolves with its position, and stores and hands over nothing.
 * - Positions strictly increase, by `comparePositions`, in the order updates reach the listener.
 * - `replay(cursor)` yields, in order, every update stored after the cursor's earliest occurrence
 *   at the time of the call, each with the position the listener was (or will be) given. An update
 *   stored before `replay` is called is either in the replay or handed to the listener afterwards
 *   (or both: the hub drops the duplicates by position).
 * - Subscription events (`kind: "subscription"`) go through `publish`, the listener and `replay`
 *   like any update, in the same order of positions, but are kept apart under their own bound:
 *   however many there are, they never push a published update out of history.
 *
 * Optional capabilities, detected by the hub: `ReportsHealth`, `SharedTransport`.
 */
export interface Transport {
  publish(update: Update): Promise<Position>;
  /** Sets the one listener: the hub's dispatcher. */
  listen(listener: UpdateListener): void;
  /**
   * `visible` says whether the subscriber may know of an update: a cursor naming one it may not
   * (a private update it cannot read) is answered as an unknown cursor, so that the anchor never
   * confirms that such an id exists.
   */
  replay(cursor: string, visible?: (update: Pick<Update, "topics" | "private">) => boolean): Promise<Replay>;
  /** Negative when `a` comes before `b`, positive when after, 0 for the same position. */
  comparePositions(a: Position, b: Position): number;
  close(): Promise<void>;
}

/** What a transport that can fail while it runs says of itself. */
export type TransportHealth =
  | { readonly healthy: true }
  /** `reason`: what keeps it from storing updates now, in a sentence that names no directory. */
  | { readonly healthy: false; readonly reason: string };

/** A capability: a transport with a store that can fail while it runs. The hub's health reports it. */
export interface ReportsHealth {
  health(): TransportHealth;
}

/**
 * A capability: a transport that knows how many updates its history keeps, at no cost (a count
 * it keeps as it stores and trims; never a scan). Metrics report it.
 */
export interface ReportsHistorySize {
  /** Updates kept in history now (subscription events it keeps apart excepted). */
  historySize(): number;
}

export function reportsHistorySize(transport: Transport): transport is Transport & ReportsHistorySize {
  return typeof (transport as Partial<ReportsHistorySize>).historySize === "function";
}

/**
 * A capability: a transport shared by several processes or nodes (a cluster), each naming itself.
 *
 * Active subscriptions span the cluster: every node folds the subscription events of every node
 * into its list. A node that joins late learns the subscriptions begun before it from
 * `activeSubscriptionsAtOpen`, and those of a node that dies without a goodbye are ended for it:
 * the transport publishes their `active: false` events (`endedSubscriptionEvent`) within a bounded
 * time, the node's lease, as its docs say.
 */
export interface SharedTransport {
  /** This process's id in the cluster, unique among the nodes sharing the transport. */
  readonly nodeId: string;
  /**
   * The subscription events (each `active: true`, one per subscription, in the order the
   * subscriptions began) of every node, as they stood when the transport opened: the first update
   * the listener is handed comes after them. The hub folds them in before it listens.
   */
  activeSubscriptionsAtOpen(): readonly Update[];
}

export function reportsHealth(transport: Transport): transport is Transport & ReportsHealth {
  return typeof (transport as Partial<ReportsHealth>).health === "function";
}

export function isShared(transport: Transport): transport is Transport & SharedTransport {
  const shared = transport as Partial<SharedTransport>;
  return typeof shared.nodeId === "string" && typeof shared.activeSubscriptionsAtOpen === "function";
}
