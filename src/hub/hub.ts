import { canRead, type Grants } from "../auth/grants.ts";
import type { TopicMatcher } from "../matching/matcher.ts";
import { ProtocolError } from "../protocol/problems.ts";
import type { PublishFields } from "../protocol/publish-request.ts";
import { KEEP_ALIVE } from "../protocol/sse-encoder.ts";
import type { AnySubscriptionDocument } from "../protocol/subscription-resource.ts";
import { type CloseReason, Connection, type ConnectionLimits } from "./connection.ts";
import { type Logger, silentLogger } from "./logger.ts";
import type { StreamSink } from "./stream-sink.ts";
import { SubscriberIndex } from "./subscriber-index.ts";
import { subscriptionEvent } from "./subscription-event.ts";
import { SubscriptionRegistry } from "./subscription-registry.ts";
import { type Replay, type Transport, TransportError } from "./transport.ts";
import { createUpdate, type Update } from "./update.ts";

export interface HubOptions {
  /** A keep-alive comment goes out when a stream has been silent this long. */
  readonly heartbeatMs: number;
  /** A socket that stays backed up this long is dropped. */
  readonly writeTimeoutMs: number;
  /** Streams are closed after this long (less up to 10%, so clients do not reconnect in one wave). */
  readonly maxLifetimeMs: number;
  /**
   * Bytes a subscriber may have waiting before it is dropped as a slow consumer. An update whose
   * event is larger than half of it is refused.
   */
  readonly maxQueueBytes: number;
  /**
   * Active subscriptions (draft, "Active Subscriptions"): when set, the hub publishes an event as
   * each subscription begins and ends, under `{hubPath}/subscriptions/…`, and keeps the list.
   */
  readonly subscriptions?: { readonly hubPath: string };
  readonly logger?: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

export interface SubscribeRequest {
  readonly matchers: readonly TopicMatcher[];
  readonly grants: Grants | undefined;
  /** The reconnection cursor, when the subscriber sent one. */
  readonly cursor: string | undefined;
  readonly sink: StreamSink;
}

const KEEP_ALIVE_FRAME = Buffer.from(KEEP_ALIVE);
/** Replay is written in slices of this size, waiting for the socket in between. */
const REPLAY_SLICE_BYTES = 64 * 1024;
/**
 * Updates a replay examines before it lets the event loop run other work: a replay that selects
 * few of a long history would otherwise scan all of it in one turn, stalling every other stream.
 */
const REPLAY_SCAN_SLICE = 256;
/**
 * Matching work a replay does before it lets the event loop run other work, in topic characters
 * × automaton instructions (a bound on engine steps, to within a small factor): the subscriber
 * chooses its patterns, and within their bound they may cost a million steps per update, so a
 * count of updates alone would let one replay hold the hub for seconds.
 */
const REPLAY_MATCHING_SLICE = 1_000_000;
/** Sockets written per turn of the event loop when many have something queued. */
const FLUSH_SLICE = 1024;
/**
 * Bytes written per turn at most (one socket's worth at least): a slice of large updates is
 * hundreds of megabytes copied into sockets, and every other request would wait for it.
 */
const FLUSH_SLICE_BYTES = 16 * 1024 * 1024;
/** Written entries the pending list may keep before it is compacted. */
const COMPACT_FLUSHED = 16 * FLUSH_SLICE;

/**
 * The hub: accepts updates, hands them to the transport, and delivers what the transport
 * dispatches to the connections that match and may read it. It knows nothing of HTTP.
 */
export class Hub {
  readonly #transport: Transport;
  readonly #options: HubOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #limits: ConnectionLimits;
  readonly #index = new SubscriberIndex();
  readonly #connections = new Set<Connection>();
  /** Connections with something queued, in the order they got it; the first `#flushed` are written. */
  #pending: Connection[] = [];
  #flushed = 0;
  #flushScheduled = false;
  #closing = false;
  readonly #sweepTimer: NodeJS.Timeout;
  readonly #sweepMs: number;
  /** The update being delivered, read by the pre-bound `#offer` (no closure per update). */
  #current: Update | undefined;
  /** Updates dispatched while another was being delivered, delivered right after it. */
  readonly #deferred: Update[] = [];
  /** The id of the last update dispatched that was public or a subscription event (see below). */
  #lastDispatchedId: string | undefined;
  /** The active subscriptions, when the feature is on. */
  readonly subscriptions: SubscriptionRegistry | undefined;
  /** Subscription events being stored, awaited before the transport closes. */
  readonly #announcing = new Set<Promise<void>>();

  constructor(transport: Transport, options: HubOptions) {
    this.#transport = transport;
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#limits = { maxQueueBytes: options.maxQueueBytes, writeTimeoutMs: options.writeTimeoutMs };
    this.#sweepMs = Math.max(10, Math.min(1000, Math.floor(options.heartbeatMs / 2)));
    this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepMs).unref();
    if (options.subscriptions !== undefined) this.subscriptions = new SubscriptionRegistry();
    transport.listen((update) => this.#dispatch(update));
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  get closing(): boolean {
    return this.#closing;
  }

  lastEventId(): string | undefined {
    return this.#transport.lastEventId();
  }

  /** What keeps the transport from storing updates now, if anything (see Transport). */
  get storeFailure(): string | undefined {
    return this.#transport.storeFailure?.();
  }

  /**
   * The cursor that goes with `subscriptions`: the id of the last update this hub dispatched that
   * is public or a subscription event. The list is a fold of subscription events, so it is
   * consistent with this cursor as with the very last id; and the id of a private update, which a
   * publisher may have chosen to mean something, is never given to a reader of the list that may
   * have no grant on its topics (nor would that reader's cursor then be honoured).
   */
  get lastDispatchedId(): string | undefined {
    return this.#lastDispatchedId;
  }

  /** Stores and dispatches an update; resolves once the transport has stored it. */
  async publish(fields: PublishFields): Promise<Update> {
    if (this.#closing) throw new ProtocolError("shutting_down", "the hub is shutting down");
    const update = createUpdate(fields);
    // Each line of data costs its `data: ` prefix, so an event can be seven times the body that
    // brought it. Bounded as the configuration bounds a body, to half of a subscriber's queue: a
    // larger one would cut every stream it reached, and every reconnection that replayed it.
    const largest = Math.floor(this.#options.maxQueueBytes / 2);
    if (update.frame.length > largest) {
      throw new ProtocolError(
        "update_too_large",
        `the update's event is ${update.frame.length} bytes, more than half of maxQueueBytes (${largest}); ` +
          "send its data in fewer lines or in several updates",
      );
    }
    try {
      await this.#transport.publish(update);
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      // A lasting failure the transport reports (and logs once) is not logged again per publish.
      const level = this.storeFailure === undefined ? "error" : "debug";
      this.#logger[level]({ err: error }, "an update could not be stored");
      throw new ProtocolError("store_unavailable", "the update could not be stored; it was not published");
    }
    return update;
  }

  /**
   * Opens a stream: registers the connection (live updates are held from this moment), fetches
   * the replay, starts the response, sends the replay, then releases the held updates the replay
   * did not contain. No gap, no duplicate at the seam. Resolves with undefined when the
   * connection ended before it was live.
   */
  async subscribe(request: SubscribeRequest): Promise<Connection | undefined> {
    if (this.#closing) throw new ProtocolError("shutting_down", "the hub is shutting down");
    const now = this.#now();
    let deadline = now + this.#options.maxLifetimeMs * (1 - 0.1 * this.#random());
    let deadlineReason: CloseReason = "max_lifetime";
    const expiresAt = request.grants?.expiresAt;
    if (expiresAt !== undefined && expiresAt < deadline) {
      deadline = expiresAt;
      deadlineReason = "token_expired";
    }
    const connection = new Connection({
      sink: request.sink,
      matchers: request.matchers,
      grants: request.grants,
      deadline,
      deadlineReason,
      now,
      limits: this.#limits,
      schedule: this.#schedule,
      onClose: this.#onClose,
    });
    if (request.cursor !== undefined) connection.held = [];
    request.sink.onClose(() => connection.close("client_left"));
    // The sweep closes a stream at the last tick before its deadline, but it only sees streams
    // that existed at the previous tick: a deadline sooner than one sweep period (a token about to
    // expire, a short max lifetime) would be missed by up to a period. Such a stream gets its own
    // timer (close() is idempotent, so the timer need not be cleared).
    if (deadline - now < this.#sweepMs) {
      setTimeout(() => connection.close(deadlineReason), Math.max(0, deadline - now)).unref();
    }
    this.#connections.add(connection);
    this.#index.add(connection);

    const replay =
      request.cursor === undefined ? undefined : await this.#replay(request.cursor, request.grants);
    if (connection.closed) return undefined;
    request.sink.start(replay?.anchor);
    connection.enqueue(KEEP_ALIVE_FRAME); // the stream starts at once
    if (replay !== undefined) {
      let lastSeq: number | undefined;
      try {
        lastSeq = await this.#sendReplay(connection, replay);
      } catch (error) {
        if (!(error instanceof TransportError)) throw error;
        // History cannot go on with this replay (it was overtaken by retention, or the store
        // cannot be read): the stream is cut, never left with a gap. The subscriber reconnects
        // from its last event, and the anchor tells it whether anything was lost.
        this.#logger.info({ err: error, subscriber: connection.subscriber }, "a replay was cut short");
        connection.close("failed");
        return undefined;
      }
      if (lastSeq === undefined) return undefined;
      connection.goLive(lastSeq);
    }
    this.#announce(connection, true);
    return connection;
  }

  /** Sends the replay; resolves with the seq it ended at, or undefined if the connection closed. */
  async #sendReplay(connection: Connection, replay: Replay): Promise<number | undefined> {
    let lastSeq = 0;
    let scanned = 0;
    let matching = 0;
    for await (const update of replay.updates) {
      if (connection.closed) return undefined;
      if (++scanned % REPLAY_SCAN_SLICE === 0 || matching >= REPLAY_MATCHING_SLICE) {
        matching = 0;
        await new Promise(setImmediate);
      }
      // Grants first: they come from the token's issuer, the patterns from the subscriber, who
      // must not make the hub evaluate them against private updates it may not read.
      if (this.#mayRead(connection.grants, update)) {
        matching += connection.instructions * topicsLength(update.topics);
        if (connection.matchesAny(update.topics)) {
          connection.enqueue(update.frame);
          if (connection.queuedBytes >= REPLAY_SLICE_BYTES) {
            connection.flush(this.#now());
            if (connection.unwritableSince !== 0) await connection.writable();
          }
        }
      }
      lastSeq = update.seq;
    }
    return connection.closed ? undefined : lastSeq;
  }

  async #replay(cursor: string, grants: Grants | undefined): Promise<Replay> {
    try {
      return await this.#transport.replay(cursor, (update) => this.#mayRead(grants, update));
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      throw new ProtocolError("history_unavailable", "history cannot be read now; the hub log says why");
    }
  }

  /** Publishes a subscription event for each of the connection's matchers. */
  #announce(connection: Connection, active: boolean): void {
    if (this.subscriptions === undefined) return;
    if (active) connection.announced = true;
    const hubPath = this.#options.subscriptions!.hubPath;
    for (const matcher of connection.matchers) {
      const update = this.#subscriptionEvent(hubPath, matcher, connection, active);
      if (update === undefined) continue;
      const stored = this.#transport.publish(update).catch((error: unknown) => {
        this.#logger.error(
          { err: error, subscription: update.topics[0] },
          "storing a subscription event failed",
        );
      });
      this.#announcing.add(stored);
      stored.finally(() => this.#announcing.delete(stored));
    }
  }

  /**
   * The event for one subscription. Undefined when it cannot be built: it is made while a stream
   * opens or closes, often from a socket's 'close' event, where a throw would end the process.
   */
  #subscriptionEvent(
    hubPath: string,
    matcher: TopicMatcher,
    connection: Connection,
    active: boolean,
  ): Update | undefined {
    try {
      return subscriptionEvent(hubPath, matcher, connection, active);
    } catch (error) {
      this.#logger.error(
        { err: error, subscriber: connection.subscriber },
        "a subscription event could not be made",
      );
      return undefined;
    }
  }

  #mayRead(grants: Grants | undefined, update: Pick<Update, "topics" | "private">): boolean {
    // Routing matchers never widen access: a private update needs a subscribe grant on one of its
    // topics, checked against the current token, for replayed updates too (draft, "Subscribers").
    return !update.private || canRead(grants, update.topics);
  }

  #dispatch(update: Update): void {
    // A stream dropped while an update is delivered (a slow consumer) announces its end at once,
    // from inside that delivery: its event is delivered right after, never in the middle.
    if (this.#current !== undefined) {
      this.#deferred.push(update);
      return;
    }
    this.#deliver(update);
    while (this.#deferred.length > 0) this.#deliver(this.#deferred.shift()!);
  }

  #deliver(update: Update): void {
    if (!update.private || update.kind === "subscription") this.#lastDispatchedId = update.id;
    // Decided by kind, never by topic: only the hub creates subscription events (this one, or one
    // sharing the transport), and a published update, whatever its topic, is never folded in.
    if (update.kind === "subscription" && this.subscriptions !== undefined) this.#fold(update);
    this.#current = update;
    try {
      this.#index.forEachMatch(update.topics, this.#offer, update.private ? this.#mayReceive : undefined);
    } catch (error) {
      // An update that cannot be routed costs that update, never the hub.
      this.#logger.error({ err: error, update: update.id }, "an update could not be delivered");
    } finally {
      this.#current = undefined;
    }
  }

  #fold(update: Update): void {
    try {
      this.subscriptions!.apply(JSON.parse(update.data) as AnySubscriptionDocument, update.id);
    } catch (error) {
      this.#logger.error({ err: error, update: update.id }, "a subscription event could not be read");
    }
  }

  /** Whether a connection may read the update being delivered (only asked of private ones). */
  readonly #mayReceive = (connection: Connection): boolean =>
    this.#mayRead(connection.grants, this.#current!);

  readonly #offer = (connection: Connection): void => {
    const update = this.#current!;
    if (connection.stamp === update.seq) return; // already offered through another matcher
    connection.stamp = update.seq;
    try {
      if (!this.#mayRead(connection.grants, update)) return;
      if (connection.held !== undefined) connection.hold(update);
      else connection.enqueue(update.frame);
    } catch (error) {
      this.#drop(connection, error);
    }
  };

  /** A stream that fails costs that stream (its client reconnects with its cursor), never the hub. */
  #drop(connection: Connection, error: unknown): void {
    this.#logger.error({ err: error, subscriber: connection.subscriber }, "a subscriber stream failed");
    connection.close("failed");
  }

  // Bound once for every connection, rather than two closures per connection.
  readonly #schedule = (connection: Connection): void => this.#scheduleFlush(connection);
  readonly #onClose = (connection: Connection, reason: CloseReason): void => this.#forget(connection, reason);

  #scheduleFlush(connection: Connection): void {
    this.#pending.push(connection);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // After the current I/O phase: every update dispatched in it leaves in one write per socket.
    setImmediate(this.#flushAll);
  }

  readonly #flushAll = (): void => {
    // A slice at a time, letting the event loop read publishes in between: a fan-out to many
    // sockets would otherwise hold every publish (and its acknowledgement) until the last write,
    // and the events published meanwhile join the queues of the sockets not yet written.
    const pending = this.#pending;
    let end = Math.min(pending.length, this.#flushed + FLUSH_SLICE);
    const now = this.#now();
    let bytes = 0;
    for (let i = this.#flushed; i < end; i++) {
      const connection = pending[i]!;
      bytes += connection.queuedBytes;
      try {
        connection.flush(now);
      } catch (error) {
        this.#drop(connection, error);
      }
      if (bytes >= FLUSH_SLICE_BYTES) end = i + 1;
    }
    if (end < pending.length) {
      // Under a steady stream of events the list never empties: drop the written part now and
      // then, so that it holds each waiting connection about once rather than growing.
      if (end >= COMPACT_FLUSHED) {
        this.#pending = pending.slice(end);
        this.#flushed = 0;
      } else {
        this.#flushed = end;
      }
      setImmediate(this.#flushAll);
      return;
    }
    this.#pending = [];
    this.#flushed = 0;
    this.#flushScheduled = false;
  };

  #sweep(): void {
    const now = this.#now();
    const heartbeat = this.#options.heartbeatMs;
    for (const connection of this.#connections) {
      // Close a little early rather than late: the stream must end no later than the token's exp.
      if (now + this.#sweepMs >= connection.deadline) connection.close(connection.deadlineReason);
      else if (
        connection.unwritableSince !== 0 &&
        now - connection.unwritableSince >= this.#options.writeTimeoutMs
      ) {
        connection.close("write_timeout");
      } else if (now - connection.lastWriteAt >= heartbeat && connection.held === undefined) {
        connection.enqueue(KEEP_ALIVE_FRAME);
      }
    }
  }

  #forget(connection: Connection, reason: CloseReason): void {
    this.#connections.delete(connection);
    this.#index.delete(connection);
    this.#logger.debug({ subscriber: connection.subscriber, reason }, "subscriber stream closed");
    if (connection.announced) this.#announce(connection, false);
  }

  /** Ends every stream and closes the transport. Publishing and subscribing are refused from now on. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#sweepTimer);
    for (const connection of [...this.#connections]) connection.close("shutdown");
    await Promise.all(this.#announcing);
    await this.#transport.close();
  }
}

function topicsLength(topics: readonly string[]): number {
  let length = 0;
  for (const topic of topics) length += topic.length;
  return length;
}
