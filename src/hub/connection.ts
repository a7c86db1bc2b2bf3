import { randomUUID } from "node:crypto";
import type { Grants } from "../auth/grants.ts";
import type { TopicMatcher } from "../matching/matcher.ts";
import type { StreamSink } from "./stream-sink.ts";
import type { Update } from "./update.ts";

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

/**
 * One subscriber stream. Deliveries are queued and leave in one write per flush (the hub flushes
 * every connection queued to in a tick together), so a burst of events costs one syscall per
 * socket instead of one per event. A backed-up socket is never awaited: the queue grows up to
 * `maxQueueBytes`, then the connection is dropped and the subscriber reconnects with its cursor.
 */
export class Connection {
  /** Random per connection and never taken from the client (draft, "Subscription Events"). */
  readonly subscriber = `urn:uuid:${randomUUID()}`;
  readonly matchers: readonly TopicMatcher[];
  /** The automaton instructions of its matchers, together: what testing a topic character costs. */
  readonly instructions: number;
  readonly grants: Grants | undefined;
  /** When the hub must close the stream: token expiry or the maximum lifetime, ms since epoch. */
  readonly deadline: number;
  readonly deadlineReason: CloseReason;
  /** The seq of the last update offered, so an update reaches a subscriber once. */
  stamp = 0;
  lastWriteAt: number;
  closed = false;
  /** Whether its subscription events went out (so the end of its subscriptions is announced too). */
  announced = false;
  /** While the replay is sent, live updates are held here and released after it. */
  held: Update[] | undefined;

  readonly #sink: StreamSink;
  readonly #limits: ConnectionLimits;
  readonly #schedule: (connection: Connection) => void;
  readonly #onClose: (connection: Connection, reason: CloseReason) => void;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #heldBytes = 0;
  #writable = true;
  /** Replays waiting for the socket to drain (allocated only when one waits). */
  #waiters: (() => void)[] | undefined;
  /** When the socket last became unwritable, or 0 while it is writable. */
  unwritableSince = 0;

  constructor(init: {
    sink: StreamSink;
    matchers: readonly TopicMatcher[];
    grants: Grants | undefined;
    deadline: number;
    deadlineReason: CloseReason;
    now: number;
    limits: ConnectionLimits;
    schedule: (connection: Connection) => void;
    onClose: (connection: Connection, reason: CloseReason) => void;
  }) {
    this.#sink = init.sink;
    this.matchers = init.matchers;
    this.instructions = init.matchers.reduce((total, matcher) => total + matcher.instructions, 0);
    this.grants = init.grants;
    this.deadline = init.deadline;
    this.deadlineReason = init.deadlineReason;
    this.lastWriteAt = init.now;
    this.#limits = init.limits;
    this.#schedule = init.schedule;
    this.#onClose = init.onClose;
    init.sink.onDrain(() => {
      this.#writable = true;
      this.unwritableSince = 0;
      if (this.#queue.length > 0) this.flush(Date.now());
      this.#wake();
    });
  }

  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  matchesAny(topics: readonly string[]): boolean {
    for (const matcher of this.matchers) {
      for (const topic of topics) if (matcher.matches(topic)) return true;
    }
    return false;
  }

  /** Holds a live update that arrived while the replay is being sent. */
  hold(update: Update): void {
    this.held!.push(update);
    this.#heldBytes += update.frame.length;
    if (this.#heldBytes + this.#queuedBytes > this.#limits.maxQueueBytes) this.close("slow_consumer");
  }

  enqueue(frame: Buffer): void {
    if (this.closed) return;
    if (this.#queue.length === 0 && this.#writable) this.#schedule(this);
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.#queuedBytes + this.#heldBytes > this.#limits.maxQueueBytes) this.close("slow_consumer");
  }

  /** Writes everything queued in one chunk, unless the socket is backed up. */
  flush(now: number): void {
    if (this.closed || !this.#writable || this.#queue.length === 0) return;
    const frames = this.#queue;
    const bytes = this.#queuedBytes;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.lastWriteAt = now;
    if (!this.#sink.write(frames, bytes)) {
      this.#writable = false;
      this.unwritableSince = now;
    }
  }

  /** Resolves when the socket can take more, or the connection closed (used while replaying). */
  writable(): Promise<void> {
    if (this.#writable || this.closed) return Promise.resolve();
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

  /** Releases the updates held during the replay, skipping those the replay already sent. */
  goLive(lastReplayedSeq: number): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.#heldBytes = 0;
    for (const update of held) if (update.seq > lastReplayedSeq) this.enqueue(update.frame);
  }

  close(reason: CloseReason): void {
    if (this.closed) return;
    if (reason === "slow_consumer" || reason === "write_timeout" || reason === "failed") {
      this.#sink.destroy();
    } else if (reason !== "client_left") {
      // A clean end (expiry, lifetime, shutdown) still sends what was queued: fewer events to replay.
      if (this.#writable && this.#queue.length > 0) this.flush(Date.now());
      this.#sink.end(this.#limits.writeTimeoutMs);
    }
    this.closed = true;
    this.#queue = [];
    this.held = undefined;
    this.#onClose(this, reason);
    this.#wake();
  }
}
