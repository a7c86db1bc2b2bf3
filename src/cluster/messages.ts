import type { Position, TransportHealth } from "../hub/transport.ts";

/**
 * The messages a worker and the primary exchange over the IPC channel when the primary holds the
 * store. Updates travel as `encodeUpdate` text; a channel delivers messages in the order they were
 * sent, which is what keeps one order of updates for every worker.
 */

/** A worker's requests; `n` numbers a request so that its answer finds it. */
export type WorkerMessage =
  /** The worker's transport opened: hand it the active subscriptions, then every stored update. */
  | { readonly t: "open" }
  | { readonly t: "publish"; readonly n: number; readonly update: string }
  /** Starts a replay from a cursor; `page` asks for its next entries, `stop` abandons it. */
  | { readonly t: "replay"; readonly n: number; readonly cursor: string }
  | { readonly t: "page"; readonly n: number }
  | { readonly t: "stop"; readonly n: number }
  /** The worker's HTTP server listens: its hub URL, for the primary to announce once. */
  | { readonly t: "listening"; readonly hubUrl: string; readonly resourceIdentifier: string };

/** An update and its position, as the primary sends them. */
export type EncodedEntry = readonly [update: string, position: Position];

export type PrimaryMessage =
  /** The answer to `open`: the node id and the active subscription events, sent before any update. */
  | { readonly t: "opened"; readonly nodeId: string; readonly active: readonly string[] }
  /** A stored update, sent to every worker in the order of positions. */
  | { readonly t: "update"; readonly entry: EncodedEntry }
  | { readonly t: "stored"; readonly n: number; readonly position: Position }
  /** The store refused: `message` names no directory nor secret (a transport's own message). */
  | { readonly t: "failed"; readonly n: number; readonly message: string }
  /**
   * The start of a replay: `cursorUpdate` is what the cursor names (its topics and whether it is
   * private) so that the worker decides whether its subscriber may know of it.
   */
  | {
      readonly t: "replaying";
      readonly n: number;
      readonly anchor: string;
      readonly cursorUpdate: { readonly topics: readonly string[]; readonly private: boolean } | undefined;
    }
  | {
      readonly t: "entries";
      readonly n: number;
      readonly entries: readonly EncodedEntry[];
      readonly done: boolean;
    }
  | { readonly t: "health"; readonly health: TransportHealth }
  /** Close gracefully: end the streams, announce the end of their subscriptions, then exit. */
  | { readonly t: "shutdown" };

/** What both ends need of an IPC channel: a `ChildProcess`, a cluster `Worker`, or `process` in a child. */
export interface Channel {
  send(message: unknown): unknown;
  on(event: "message", listener: (message: unknown) => void): unknown;
  on(event: "disconnect", listener: () => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "disconnect", listener: () => void): unknown;
}

/** Entries a replay page carries: bounded, so that a long history never makes one huge message. */
export const REPLAY_PAGE_SIZE = 256;
