import { randomUUID } from "node:crypto";
import type { Grants } from "../auth/grants.ts";
import type { TopicMatcher } from "../matching/matcher.ts";
import { KEEP_ALIVE } from "../protocol/sse-encoder.ts";
import { matchersField } from "../protocol/subscribe-request.ts";
import type { DeliveryTally } from "./delivery-tally.ts";
import { mayRead } from "./may-read.ts";
import type { StreamSink } from "./stream-sink.ts";
import type { Position } from "./transport.ts";
import type { Update } from "./update.ts";

/** Orders two positions of the transport that gave them (`Transport.comparePositions`). */
type ComparePositions = (a: Position, b: Position) => number;

export type CloseReason =
  | "client_left"
  | "token_expired"
  | "max_lifetime"
  | "slow_consumer"
  | "write_timeout"
  | "shutdown"
  /** Serving the stream threw: it is dropped, and the hub goes on. */
  | "failed";

export interface ConnectionLimits {
  /** Bytes a connection may have waiting (queued, or held during replay) before it is dropped. */
  readonly maxQueueBytes: number;
  /** How long a socket may stay backed up; also how long an ended stream may take to leave. */
  readonly writeTimeoutMs: number;
}

export interface ConnectionInit {
  readonly sink: StreamSink;
  readonly matchers: readonly TopicMatcher[];
  readonly grants: Grants | undefined;
  /** When the hub must close the stream: token expiry or the maximum lifetime, ms since epoch. */
  readonly deadline: number;
  readonly deadlineReason: CloseReason;
  readonly limits: ConnectionLimits;
  /** The hub's running totals of bytes waiting and written, which this stream keeps current. */
  readonly tally: DeliveryTally;
  /** The hub's clock (shared by every connection: no closure per connection). */
  readonly now: () => number;
  /** Asks for a flush: the connection has something queued and its socket is writable. */
  readonly schedule: (connection: Connection) => void;
  readonly onClose: (connection: Connection, reason: CloseReason) => void;
  /** What the opener calls the stream in its logs (the HTTP layer: the request id). */
  readonly requestId?: string | undefined;
  /**
   * The index to report for each of `matchers` (`report_matchers`): when given, each event is
   * preceded by a `matchers:` field naming those it matched.
   */
  readonly reportedIndexes?: readonly number[] | undefined;
}

const KEEP_ALIVE_FRAME = Buffer.from(KEEP_ALIVE);

/**
 * Where a stream is in its life: `opening` until its response starts (its replay is being
 * fetched), `started` while its replay is sent, `live` once it receives live updates directly.
 * Closing does not change it: the hub reads it to know what it announced of a closed stream.
 */
type Phase = "opening" | "started" | "live";

/**
 * One subscriber stream. Deliveries are queued and leave in one write per flush (the hub flushes
 * every connection queued to in a tick together), so a burst of events costs one syscall per
 * socket instead of one per event. A backed-up socket is never awaited: the queue grows up to
 * `maxQueueBytes`, then the connection is dropped and the subscriber reconnects with its cursor.
 *
 * It owns the handover from replay to live: from `beginReplay` to `goLive`, live updates offered
 * are held with their positions, and `goLive` releases those the replay did not contain.
 */
export class Connection {
  /** Random per connection and never taken from the client (draft, "Subscription Events"). */
  readonly subscriber = `urn:uuid:${randomUUID()}`;
  readonly matchers: readonly TopicMatcher[];
  /** The automaton instructions of its matchers, together: what testing a topic character costs. */
  readonly instructions: number;
  readonly grants: Grants | undefined;
  readonly requestId: string | undefined;
  /** When it was opened, by the hub's clock. */
  readonly openedAt: number;

  readonly #deadline: number;
  readonly #deadlineReason: CloseReason;
  readonly #sink: StreamSink;
  readonly #limits: ConnectionLimits;
  readonly #tally: DeliveryTally;
  readonly #now: () => number;
  readonly #schedule: (connection: Connection) => void;
  readonly #onClose: (connection: Connection, reason: CloseReason) => void;
  readonly #reportedIndexes: readonly number[] | undefined;
  #phase: Phase = "opening";
  #closed = false;
  /** The number of the last hub dispatch offered to it (see `markOffered`). */
  #lastDispatchOffered = 0;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  /**
   * Keep-alives and `matchers:` lines among the frames queued: not events, so that what was sent
   * can be counted in events.
   */
  #queuedKeepAlives = 0;
  #eventsSent = 0;
  #bytesSent = 0;
  /** While the replay is sent, live updates are held here, and their positions beside them. */
  #held: Update[] | undefined;
  #heldPositions: Position[] | undefined;
  #heldBytes = 0;
  /**
   * After `goLive`, the last position the replay sent, while the live feed has not reached it yet:
   * a transport read by several processes (Redis) may hand this process an update after another
   * process stored it, and after a replay here already read it from history. Live updates up to
   * it were sent by the replay and are skipped; the first one past it clears it.
   */
  #replayedThrough: { readonly position: Position; readonly compare: ComparePositions } | undefined;
  #writable = true;
  #lastWriteAt: number;
  /** When the socket last became unwritable, or 0 while it is writable. */
  #unwritableSince = 0;
  /** Replays waiting for the socket to drain (allocated only when one waits). */
  #waiters: (() => void)[] | undefined;

  constructor(init: ConnectionInit) {
    this.#sink = init.sink;
    this.matchers = init.matchers;
    this.instructions = init.matchers.reduce((total, matcher) => total + matcher.instructions, 0);
    this.grants = init.grants;
    this.requestId = init.requestId;
    this.#deadline = init.deadline;
    this.#deadlineReason = init.deadlineReason;
    this.#now = init.now;
    this.#lastWriteAt = init.now();
    this.openedAt = this.#lastWriteAt;
    this.#limits = init.limits;
    this.#tally = init.tally;
    this.#schedule = init.schedule;
    this.#onClose = init.onClose;
    this.#reportedIndexes = init.reportedIndexes;
    init.sink.onDrain(() => {
      this.#writable = true;
      this.#unwritableSince = 0;
      if (this.#queue.length > 0) this.flush(this.#now());
      this.#wake();
    });
    init.sink.onClose(() => this.close("client_left"));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Whether its response started (and so whether the hub reported it opened). */
  get started(): boolean {
    return this.#phase !== "opening";
  }

  /** Whether it went live (and so whether its subscriptions were announced). */
  get live(): boolean {
    return this.#phase === "live";
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  /** Events (updates and subscription events, not keep-alives) handed to the socket so far. */
  get eventsSent(): number {
    return this.#eventsSent;
  }

  /** Bytes handed to the socket so far, keep-alives included. */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** Whether its socket is backed up: `writable()` then waits for it. */
  get backedUp(): boolean {
    return this.#unwritableSince !== 0;
  }

  matchesAny(topics: readonly string[]): boolean {
    for (const matcher of this.matchers) {
      for (const topic of topics) if (matcher.matches(topic)) return true;
    }
    return false;
  }

  /** From now until `goLive`, live updates offered are held (a subscriber with a cursor). */
  beginReplay(): void {
    this.#held = [];
    this.#heldPositions = [];
  }

  /** Sends the response head (`anchor` for a replay) and a first keep-alive: the stream starts at once. */
  start(anchor: string | undefined): void {
    this.#sink.start(anchor);
    this.#phase = "started";
    this.enqueue(KEEP_ALIVE_FRAME);
  }

  /**
   * Notes that the hub's dispatch number `dispatch` was offered to this stream; false when it
   * already was. An update reaches a stream through each of its matchers that selects it, and must
   * be sent once. The hub numbers its dispatches itself, whatever the transport's positions.
   */
  markOffered(dispatch: number): boolean {
    if (this.#lastDispatchOffered === dispatch) return false;
    this.#lastDispatchOffered = dispatch;
    return true;
  }

  /**
   * Offers a live update: queued, or held while the replay is sent. False when the stream may not
   * read it (a private update its grants do not cover).
   */
  offer(update: Update, position: Position): boolean {
    if (!mayRead(this.grants, update)) return false;
    const replayed = this.#replayedThrough;
    if (replayed !== undefined) {
      if (replayed.compare(position, replayed.position) <= 0) return true; // the replay sent it
      this.#replayedThrough = undefined;
    }
    if (this.#held === undefined) this.enqueueUpdate(update);
    else this.#hold(update, position);
    return true;
  }

  #hold(update: Update, position: Position): void {
    this.#held!.push(update);
    this.#heldPositions!.push(position);
    this.#heldBytes += update.frame.length;
    this.#tally.waitingBytes += update.frame.length;
    if (this.#heldBytes + this.#queuedBytes > this.#limits.maxQueueBytes) this.close("slow_consumer");
  }

  /**
   * Goes live: releases the updates held during the replay, skipping those the replay already sent
   * (at or before `lastReplayed`, the position of the last update it yielded, if any).
   */
  goLive(lastReplayed: Position | undefined, comparePositions: ComparePositions): void {
    const held = this.#held;
    const positions = this.#heldPositions;
    this.#held = undefined;
    this.#heldPositions = undefined;
    // Released from holding: those the replay did not send are counted again as they are queued.
    this.#tally.waitingBytes -= this.#heldBytes;
    this.#heldBytes = 0;
    if (held !== undefined && positions !== undefined) {
      for (let i = 0; i < held.length; i++) {
        if (lastReplayed === undefined || comparePositions(positions[i]!, lastReplayed) > 0) {
          this.enqueueUpdate(held[i]!);
        }
      }
    }
    // The live feed is behind what the replay read: what it brings up to there is skipped.
    const lastHeld = positions?.at(-1);
    if (
      lastReplayed !== undefined &&
      (lastHeld === undefined || comparePositions(lastHeld, lastReplayed) < 0)
    ) {
      this.#replayedThrough = { position: lastReplayed, compare: comparePositions };
    }
    // Releasing may have dropped it (a slow consumer): then it never went live.
    if (!this.#closed) this.#phase = "live";
  }

  /**
   * Queues an update's event; first, when the subscriber asked for it, the line naming the matchers
   * it matched (a frame of its own: the event's frame stays the one shared by every subscriber).
   */
  enqueueUpdate(update: Update): void {
    const reported = this.#reportedIndexes;
    if (reported !== undefined && !this.#closed) {
      const matched: number[] = [];
      this.matchers.forEach((matcher, i) => {
        if (update.topics.some((topic) => matcher.matches(topic))) matched.push(reported[i]!);
      });
      this.#queuedKeepAlives++;
      this.enqueue(Buffer.from(matchersField(matched, update.private)));
    }
    this.enqueue(update.frame);
  }

  enqueue(frame: Buffer): void {
    if (this.#closed) return;
    if (this.#queue.length === 0 && this.#writable) this.#schedule(this);
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (frame === KEEP_ALIVE_FRAME) this.#queuedKeepAlives++;
    this.#tally.waitingBytes += frame.length;
    if (this.#queuedBytes + this.#heldBytes > this.#limits.maxQueueBytes) this.close("slow_consumer");
  }

  /** Writes everything queued in one chunk, unless the socket is backed up. */
  flush(now: number): void {
    if (this.#closed || !this.#writable || this.#queue.length === 0) return;
    const frames = this.#queue;
    const bytes = this.#queuedBytes;
    this.#eventsSent += frames.length - this.#queuedKeepAlives;
    this.#bytesSent += bytes;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#queuedKeepAlives = 0;
    this.#tally.waitingBytes -= bytes;
    this.#tally.writtenBytes += bytes;
    this.#lastWriteAt = now;
    if (!this.#sink.write(frames, bytes)) {
      this.#writable = false;
      this.#unwritableSince = now;
    }
  }

  /** Resolves when the socket can take more, or the connection closed (used while replaying). */
  writable(): Promise<void> {
    if (this.#writable || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters ??= [];
      this.#waiters.push(resolve);
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    if (waiters === undefined) return;
    this.#waiters = undefined;
    for (const wake of waiters) wake();
  }

  /**
   * The hub's periodic check: closes the stream at its deadline (up to `earlyMs` early, rather than
   * late: it must end no later than the token's expiry) or when its socket stayed backed up too
   * long, and sends a keep-alive when it has been silent for `heartbeatMs` (not while replaying).
   */
  checkTimers(now: number, earlyMs: number, heartbeatMs: number): void {
    if (now + earlyMs >= this.#deadline) this.close(this.#deadlineReason);
    else if (this.#unwritableSince !== 0 && now - this.#unwritableSince >= this.#limits.writeTimeoutMs) {
      this.close("write_timeout");
    } else if (now - this.#lastWriteAt >= heartbeatMs && this.#held === undefined) {
      this.enqueue(KEEP_ALIVE_FRAME);
    }
  }

  close(reason: CloseReason): void {
    if (this.#closed) return;
    if (reason === "slow_consumer" || reason === "write_timeout" || reason === "failed") {
      this.#sink.destroy();
    } else if (reason !== "client_left") {
      // A clean end (expiry, lifetime, shutdown) still sends what was queued: fewer events to replay.
      if (this.#writable && this.#queue.length > 0) this.flush(this.#now());
      this.#sink.end(this.#limits.writeTimeoutMs);
    }
    this.#closed = true;
    this.#tally.waitingBytes -= this.#queuedBytes + this.#heldBytes;
    this.#queue = [];
    this.#queuedKeepAlives = 0;
    this.#queuedBytes = 0;
    this.#heldBytes = 0;
    this.#held = undefined;
    this.#heldPositions = undefined;
    this.#onClose(this, reason);
    this.#wake();
  }
}
