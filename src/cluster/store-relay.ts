import type { Logger } from "../hub/logger.ts";
import { endedSubscriptionEvent, subscriptionStateOf } from "../hub/subscription-event.ts";
import {
  type Position,
  type ReplayEntry,
  reportsHealth,
  type Transport,
  type TransportHealth,
} from "../hub/transport.ts";
import type { Update } from "../hub/update.ts";
import { EARLIEST } from "../protocol/cursor.ts";
import { decodeUpdate, encodeUpdate } from "../transports/update-codec.ts";
import {
  type Channel,
  type EncodedEntry,
  type PrimaryMessage,
  REPLAY_PAGE_SIZE,
  type WorkerMessage,
} from "./messages.ts";

/** How often the store's health is read, to tell the workers when it changes. */
const HEALTH_CHECK_MS = 1000;

/** A worker as the relay sees it. */
interface Peer {
  readonly channel: Channel;
  readonly nodeId: string;
  /** Whether it asked for updates: it gets every update stored from then on. */
  opened: boolean;
  /** Its active subscriptions (id → the event that began it), ended for it if it dies. */
  readonly subscriptions: Map<string, Update>;
  /** Its replays being read, by request number. */
  readonly replays: Map<number, Iterator<ReplayEntry> | AsyncIterator<ReplayEntry>>;
}

/**
 * The primary's side of a store shared by workers (when no transport of their own joins them):
 * it holds the one transport, stores what the workers publish, and hands every stored update, with
 * its position, to every worker in order. It also keeps the cluster's active subscriptions, to hand
 * a starting worker, and ends those of a worker that dies.
 */
export class StoreRelay {
  readonly #transport: Transport;
  readonly #logger: Logger;
  readonly #peers = new Set<Peer>();
  /** Every worker's active subscriptions, in the order they began: the snapshot a starting worker gets. */
  readonly #active = new Map<string, Update>();
  #health: TransportHealth = { healthy: true };
  readonly #healthTimer: NodeJS.Timeout | undefined;

  constructor(transport: Transport, logger: Logger) {
    this.#transport = transport;
    this.#logger = logger;
    transport.listen((update, position) => this.#dispatch(update, position));
    if (reportsHealth(transport)) {
      const store = transport;
      this.#health = store.health();
      this.#healthTimer = setInterval(() => this.#checkHealth(store.health()), HEALTH_CHECK_MS);
      this.#healthTimer.unref();
    }
  }

  /**
   * Serves a worker over its channel until `detach`, which ends its subscriptions (the events are
   * stored, so every worker and subscriber sees them) and resolves once they are stored.
   */
  attach(channel: Channel, nodeId: string): () => Promise<void> {
    const peer: Peer = { channel, nodeId, opened: false, subscriptions: new Map(), replays: new Map() };
    this.#peers.add(peer);
    const onMessage = (message: unknown) => {
      this.#handle(peer, message as WorkerMessage).catch((error: unknown) => {
        this.#logger.error({ err: error, node: nodeId }, "a worker's request failed");
      });
    };
    channel.on("message", onMessage);
    return async () => {
      channel.off("message", onMessage);
      this.#peers.delete(peer);
      for (const replay of peer.replays.values()) void replay.return?.();
      for (const begun of peer.subscriptions.values()) {
        try {
          await this.#transport.publish(endedSubscriptionEvent(begun));
        } catch (error) {
          this.#logger.error({ err: error, subscription: begun.topics[0] }, "ending a subscription failed");
        }
      }
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#healthTimer);
    await this.#transport.close();
  }

  async #handle(peer: Peer, message: WorkerMessage): Promise<void> {
    switch (message.t) {
      case "open":
        // Sent in the same turn as the peer starts receiving updates: the snapshot and the
        // updates that follow it leave nothing out and repeat nothing.
        peer.opened = true;
        send(peer, {
          t: "opened",
          nodeId: peer.nodeId,
          active: [...this.#active.values()].map(encodeUpdate),
        });
        send(peer, { t: "health", health: this.#health });
        return;
      case "publish":
        return this.#publish(peer, message.n, decodeUpdate(message.update));
      case "replay":
        return this.#replay(peer, message.n, message.cursor);
      case "page":
        return this.#page(peer, message.n);
      case "stop":
        void peer.replays.get(message.n)?.return?.();
        peer.replays.delete(message.n);
        return;
      default:
        return; // "listening" and the like are the supervisor's
    }
  }

  async #publish(peer: Peer, n: number, update: Update): Promise<void> {
    let position: Position;
    try {
      position = await this.#transport.publish(update);
    } catch (error) {
      send(peer, { t: "failed", n, message: messageOf(error) });
      return;
    }
    const state = subscriptionStateOf(update);
    if (state?.active === true) peer.subscriptions.set(state.id, update);
    else if (state !== undefined) peer.subscriptions.delete(state.id);
    send(peer, { t: "stored", n, position });
  }

  /**
   * A replay's start. The worker's `visible` predicate cannot cross processes: the replay is read
   * as if the cursor were visible, and the worker is told what the cursor names, to start again
   * from `earliest` if its subscriber may not know of it.
   */
  async #replay(peer: Peer, n: number, cursor: string): Promise<void> {
    let named: Pick<Update, "topics" | "private"> | undefined;
    try {
      const replay = await this.#transport.replay(cursor, (update) => {
        named = { topics: update.topics, private: update.private };
        return true;
      });
      const entries = replay.entries;
      peer.replays.set(
        n,
        Symbol.asyncIterator in entries ? entries[Symbol.asyncIterator]() : entries[Symbol.iterator](),
      );
      send(peer, {
        t: "replaying",
        n,
        anchor: replay.anchor,
        cursorUpdate: replay.anchor === EARLIEST ? undefined : named,
      });
    } catch (error) {
      send(peer, { t: "failed", n, message: messageOf(error) });
    }
  }

  async #page(peer: Peer, n: number): Promise<void> {
    const replay = peer.replays.get(n);
    if (replay === undefined) {
      send(peer, { t: "failed", n, message: "no such replay" });
      return;
    }
    const entries: EncodedEntry[] = [];
    try {
      while (entries.length < REPLAY_PAGE_SIZE) {
        const next = await replay.next();
        if (next.done === true) {
          peer.replays.delete(n);
          send(peer, { t: "entries", n, entries, done: true });
          return;
        }
        entries.push([encodeUpdate(next.value.update), next.value.position]);
      }
      send(peer, { t: "entries", n, entries, done: false });
    } catch (error) {
      peer.replays.delete(n);
      send(peer, { t: "failed", n, message: messageOf(error) });
    }
  }

  /** Every stored update: folded into the active subscriptions, then sent to every open worker. */
  #dispatch(update: Update, position: Position): void {
    const state = subscriptionStateOf(update);
    if (state?.active === true) this.#active.set(state.id, update);
    else if (state !== undefined) this.#active.delete(state.id);
    const message: PrimaryMessage = { t: "update", entry: [encodeUpdate(update), position] };
    for (const peer of this.#peers) if (peer.opened) send(peer, message);
  }

  #checkHealth(health: TransportHealth): void {
    if (JSON.stringify(health) === JSON.stringify(this.#health)) return;
    this.#health = health;
    for (const peer of this.#peers) if (peer.opened) send(peer, { t: "health", health });
  }
}

/** Sends to a worker that may have just died: its exit is handled apart. */
function send(peer: Peer, message: PrimaryMessage): void {
  try {
    peer.channel.send(message);
  } catch {
    // The channel closed: the worker's exit detaches it.
  }
}

/** A transport's own message names the store and the cause, never a directory or secret. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : "the store failed";
}
