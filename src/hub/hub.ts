import type { Grants } from "../auth/grants.ts";
import type { TopicMatcher } from "../matching/matcher.ts";
import { ProtocolError } from "../protocol/problems.ts";
import type { PublishFields } from "../protocol/publish-request.ts";
import { type CloseReason, Connection, type ConnectionLimits } from "./connection.ts";
import { DeliveryTally } from "./delivery-tally.ts";
import {
  connectionClosed,
  connectionOpened,
  replaySent,
  transportFailed,
  updateDispatched,
} from "./diagnostics.ts";
import { FlushScheduler } from "./flush-scheduler.ts";
import { type Logger, type LogLine, lineWriter, type RequestLogLevel, silentLogger } from "./logger.ts";
import { mayRead } from "./may-read.ts";
import { sendReplay } from "./replay-sender.ts";
import { realTimer, type SetTimer, spreadStreamEnds } from "./shutdown-spread.ts";
import type { StreamSink } from "./stream-sink.ts";
import { SubscriberIndex } from "./subscriber-index.ts";
import { SubscriptionAnnouncer } from "./subscription-announcer.ts";
import type { SubscriptionRegistry } from "./subscription-registry.ts";
import {
  isShared,
  type Position,
  type Replay,
  type ReportsHealth,
  reportsHealth,
  type Transport,
  TransportError,
} from "./transport.ts";
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
  /** The level of the line logged as each stream opens and closes (`debug` unless said). */
  readonly requestLogLevel?: RequestLogLevel;
  /** The clock of the hub and of its connections (ms since epoch); a test may control it. */
  readonly now?: () => number;
  readonly random?: () => number;
  /** The timer of the shutdown's spread (see `close`); a test may control it. */
  readonly setTimer?: SetTimer;
}

export interface SubscribeRequest {
  readonly matchers: readonly TopicMatcher[];
  readonly grants: Grants | undefined;
  /** The reconnection cursor, when the subscriber sent one. */
  readonly cursor: string | undefined;
  readonly sink: StreamSink;
  /** What the caller calls the request in its logs: the stream's lines carry it. */
  readonly requestId?: string;
  /** The client's address, for the stream's opening line. */
  readonly client?: string;
  /** The index to report for each matcher in a `matchers:` field (`report_matchers`), if asked. */
  readonly reportedIndexes?: readonly number[];
}

/** An update dispatched while another was being delivered, and its position. */
interface Deferred {
  readonly update: Update;
  readonly position: Position;
}

/**
 * The hub: accepts updates, hands them to the transport, and delivers what the transport
 * dispatches to the connections that match and may read it. It knows nothing of HTTP.
 */
export class Hub {
  readonly #transport: Transport;
  readonly #health: ReportsHealth | undefined;
  readonly #options: HubOptions;
  readonly #logger: Logger;
  /** Writes each stream's opening and closing lines; undefined when they are not logged. */
  readonly #streamLine: LogLine | undefined;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #setTimer: SetTimer;
  readonly #limits: ConnectionLimits;
  readonly #index = new SubscriberIndex();
  readonly #connections = new Set<Connection>();
  readonly #tally = new DeliveryTally();
  readonly #flusher: FlushScheduler;
  readonly #announcer: SubscriptionAnnouncer | undefined;
  #closing = false;
  readonly #sweepTimer: NodeJS.Timeout;
  readonly #sweepMs: number;
  /**
   * Counts the updates this hub delivered: the number of the one being delivered, by which a
   * connection reached through several of its matchers is offered it once (Connection.markOffered).
   */
  #dispatchNumber = 0;
  /** The update being delivered and its position, read by the pre-bound visitor (no closure per update). */
  #delivering: Update | undefined;
  #deliveringPosition: Position | undefined;
  /** How many streams the update being delivered was offered to (for diagnostics). */
  #offeredCount = 0;
  /** Updates dispatched while another was being delivered, delivered right after it. */
  readonly #deferred: Deferred[] = [];
  /** The id of the last update dispatched that was public or a subscription event (see below). */
  #lastDispatchedId: string | undefined;
  /** Bound once: the transport's order of positions, for every connection going live. */
  readonly #comparePositions: (a: Position, b: Position) => number;
  /** This process's id among those sharing the transport, when the transport is shared. */
  readonly nodeId: string | undefined;

  constructor(transport: Transport, options: HubOptions) {
    this.#transport = transport;
    this.#health = reportsHealth(transport) ? transport : undefined;
    this.nodeId = isShared(transport) ? transport.nodeId : undefined;
    this.#comparePositions = (a, b) => transport.comparePositions(a, b);
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#streamLine = lineWriter(this.#logger, options.requestLogLevel ?? "debug");
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#setTimer = options.setTimer ?? realTimer;
    this.#limits = { maxQueueBytes: options.maxQueueBytes, writeTimeoutMs: options.writeTimeoutMs };
    this.#flusher = new FlushScheduler(this.#now, (connection, error) => this.#drop(connection, error));
    this.#sweepMs = Math.max(10, Math.min(1000, Math.floor(options.heartbeatMs / 2)));
    this.#sweepTimer = setInterval(() => this.#sweep(), this.#sweepMs).unref();
    if (options.subscriptions !== undefined) {
      this.#announcer = new SubscriptionAnnouncer(options.subscriptions.hubPath, transport, this.#logger);
      // The subscriptions other nodes of a cluster began before this one opened: the events the
      // listener hands over come after them.
      if (isShared(transport)) {
        for (const event of transport.activeSubscriptionsAtOpen()) this.#announcer.fold(event);
      }
    }
    transport.listen((update, position) => this.#dispatch(update, position));
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Bytes waiting for subscribers across every stream (queued, or held during a replay). */
  get waitingBytes(): number {
    return this.#tally.waitingBytes;
  }

  /** Bytes written to subscribers since the hub started. */
  get writtenBytes(): number {
    return this.#tally.writtenBytes;
  }

  /** Updates offered to streams since the hub started: one per stream offered each (a running total). */
  get deliveries(): number {
    return this.#tally.deliveries;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** The active subscriptions, when the feature is on. */
  get subscriptions(): SubscriptionRegistry | undefined {
    return this.#announcer?.registry;
  }

  /** What keeps the transport from storing updates now, if anything (its `health`, when it reports one). */
  get storeFailure(): string | undefined {
    const health = this.#health?.health();
    return health === undefined || health.healthy ? undefined : health.reason;
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
      if (transportFailed.hasSubscribers) transportFailed.publish({ operation: "publish", code: error.code });
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
      limits: this.#limits,
      tally: this.#tally,
      now: this.#now,
      schedule: this.#flusher.schedule,
      onClose: this.#onClose,
      requestId: request.requestId,
      reportedIndexes: request.reportedIndexes,
    });
    if (request.cursor !== undefined) connection.beginReplay();
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
    connection.start(replay?.anchor);
    this.#streamLine?.(
      {
        requestId: request.requestId,
        subscriber: connection.subscriber,
        matchers: connection.matchers.length,
        replayed: replay !== undefined,
        client: request.client,
      },
      "stream opened",
    );
    if (connectionOpened.hasSubscribers) {
      connectionOpened.publish({
        subscriber: connection.subscriber,
        matchers: connection.matchers.length,
        replayed: replay !== undefined,
      });
    }
    let lastReplayed: Position | undefined;
    if (replay !== undefined) {
      try {
        const outcome = await sendReplay(connection, replay, this.#now);
        lastReplayed = outcome.last;
        if (replaySent.hasSubscribers) {
          replaySent.publish({ subscriber: connection.subscriber, updates: outcome.sent });
        }
      } catch (error) {
        if (!(error instanceof TransportError)) throw error;
        if (transportFailed.hasSubscribers)
          transportFailed.publish({ operation: "replay", code: error.code });
        // History cannot go on with this replay (it was overtaken by retention, or the store
        // cannot be read): the stream is cut, never left with a gap. The subscriber reconnects
        // from its last event, and the anchor tells it whether anything was lost.
        this.#logger.info(
          { err: error, requestId: request.requestId, subscriber: connection.subscriber },
          "a replay was cut short",
        );
        connection.close("failed");
        return undefined;
      }
      if (connection.closed) return undefined;
    }
    connection.goLive(lastReplayed, this.#comparePositions);
    if (connection.closed) return undefined;
    this.#announcer?.announce(connection, true);
    return connection;
  }

  async #replay(cursor: string, grants: Grants | undefined): Promise<Replay> {
    try {
      return await this.#transport.replay(cursor, (update) => mayRead(grants, update));
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      if (transportFailed.hasSubscribers) transportFailed.publish({ operation: "replay", code: error.code });
      throw new ProtocolError("history_unavailable", "history cannot be read now; the hub log says why");
    }
  }

  #dispatch(update: Update, position: Position): void {
    // A stream dropped while an update is delivered (a slow consumer) announces its end at once,
    // from inside that delivery: its event is delivered right after, never in the middle.
    if (this.#delivering !== undefined) {
      this.#deferred.push({ update, position });
      return;
    }
    this.#deliver(update, position);
    while (this.#deferred.length > 0) {
      const next = this.#deferred.shift()!;
      this.#deliver(next.update, next.position);
    }
  }

  #deliver(update: Update, position: Position): void {
    if (!update.private || update.kind === "subscription") this.#lastDispatchedId = update.id;
    // Decided by kind, never by topic (see SubscriptionAnnouncer.fold).
    if (update.kind === "subscription") this.#announcer?.fold(update);
    this.#delivering = update;
    this.#deliveringPosition = position;
    this.#dispatchNumber++;
    this.#offeredCount = 0;
    try {
      this.#index.forEachMatch(
        update.topics,
        this.#offerDelivering,
        update.private ? this.#mayReceive : undefined,
      );
    } catch (error) {
      // An update that cannot be routed costs that update, never the hub.
      this.#logger.error({ err: error, update: update.id }, "an update could not be delivered");
    } finally {
      this.#delivering = undefined;
      this.#deliveringPosition = undefined;
    }
    this.#tally.deliveries += this.#offeredCount;
    if (updateDispatched.hasSubscribers) {
      updateDispatched.publish({
        id: update.id,
        kind: update.kind,
        private: update.private,
        matched: this.#offeredCount,
      });
    }
  }

  /** Whether a connection may read the update being delivered (only asked of private ones). */
  readonly #mayReceive = (connection: Connection): boolean => mayRead(connection.grants, this.#delivering!);

  /** The index's visitor for the update being delivered: offers it to each stream once. */
  readonly #offerDelivering = (connection: Connection): void => {
    if (!connection.markOffered(this.#dispatchNumber)) return; // reached through another matcher
    try {
      if (connection.offer(this.#delivering!, this.#deliveringPosition!)) this.#offeredCount++;
    } catch (error) {
      this.#drop(connection, error);
    }
  };

  /** A stream that fails costs that stream (its client reconnects with its cursor), never the hub. */
  #drop(connection: Connection, error: unknown): void {
    this.#logger.error(
      { err: error, requestId: connection.requestId, subscriber: connection.subscriber },
      "a subscriber stream failed",
    );
    connection.close("failed");
  }

  // Bound once for every connection, rather than a closure per connection.
  readonly #onClose = (connection: Connection, reason: CloseReason): void => this.#forget(connection, reason);

  #sweep(): void {
    const now = this.#now();
    for (const connection of this.#connections) {
      connection.checkTimers(now, this.#sweepMs, this.#options.heartbeatMs);
    }
  }

  #forget(connection: Connection, reason: CloseReason): void {
    this.#connections.delete(connection);
    this.#index.delete(connection);
    if (connection.started) {
      this.#streamLine?.(
        {
          requestId: connection.requestId,
          subscriber: connection.subscriber,
          reason,
          durationMs: this.#now() - connection.openedAt,
          events: connection.eventsSent,
          bytes: connection.bytesSent,
        },
        "stream closed",
      );
      if (connectionClosed.hasSubscribers) {
        connectionClosed.publish({ subscriber: connection.subscriber, reason });
      }
    }
    if (connection.live) this.#announcer?.announce(connection, false);
  }

  /**
   * Ends every stream and closes the transport. Publishing and subscribing are refused from now on.
   * With `spreadMs`, the streams end at random moments over that window (each told first to wait a
   * random delay before reconnecting: see spreadStreamEnds), and go on receiving until theirs,
   * updates still being stored included; the transport closes after the last.
   */
  async close(spreadMs = 0): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await spreadStreamEnds([...this.#connections], {
      windowMs: spreadMs,
      random: this.#random,
      setTimer: this.#setTimer,
    });
    // Heartbeats and deadlines went on for the streams waiting for their moment.
    clearInterval(this.#sweepTimer);
    await this.#announcer?.settled();
    await this.#transport.close();
  }
}
