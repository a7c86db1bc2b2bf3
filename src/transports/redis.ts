import { randomUUID } from "node:crypto";
import type { Logger } from "../hub/logger.ts";
import { subscriptionStateOf } from "../hub/subscription-event.ts";
import {
  type Position,
  type Replay,
  type ReplayEntry,
  type ReportsHealth,
  type SharedTransport,
  type Transport,
  TransportError,
  type TransportHealth,
  type UpdateListener,
} from "../hub/transport.ts";
import { createUpdate, type Update } from "../hub/update.ts";
import { EARLIEST } from "../protocol/cursor.ts";
import { DEFAULT_SUBSCRIPTION_HISTORY_SIZE } from "./memory.ts";
import {
  answeredInTime,
  connectRedis,
  describeRedisUrl,
  explainRedisError,
  type RedisClient,
} from "./redis-connect.ts";
import {
  BEFORE_FIRST,
  compareStreamIds,
  DEFAULT_KEY_PREFIX,
  type RedisKeys,
  redisKeys,
} from "./redis-keys.ts";
import { DEFAULT_LEASE_MS, RedisPresence } from "./redis-presence.ts";
import { mergePages, RedisReader, type StreamEntry } from "./redis-reader.ts";
import { RedisScripts } from "./redis-script-runner.ts";
import type { HistoryRetention } from "./sqlite.ts";
import { decodeUpdate, encodeUpdate } from "./update-codec.ts";
import { overtaken } from "./update-ring.ts";

export interface RedisTransportOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  readonly url: string;
  /** The prefix of every key, holding a hash tag (default `{quicksilver}`). */
  readonly keyPrefix?: string;
  readonly retention: HistoryRetention;
  /** How many subscription events are kept apart from the updates (default 10,000). */
  readonly subscriptionHistorySize?: number;
  /** How often age and large excesses are trimmed (ms). */
  readonly trimIntervalMs?: number;
  /**
   * How long a node that stops renewing its lease (killed, cut off from Redis) keeps its
   * subscriptions before another node ends them (ms, default 10 s).
   */
  readonly leaseMs?: number;
  readonly logger?: Logger;
}

/** Entries read from each stream per page of a replay. */
const REPLAY_PAGE = 256;
/** A publish resolves once the reader has handed it over, or, stored but not yet read, after this. */
const DELIVERY_WAIT_MS = 5000;

interface Waiting {
  readonly position: Position;
  readonly resolve: (position: Position) => void;
}

/**
 * History and fan-out in Redis, shared by every node of a cluster (see docs/cluster.md).
 *
 * A publish is one Lua script: it gives the update a position (a Stream id, never going backwards),
 * adds it to its stream, indexes its id and applies retention. The one reader of each node
 * (RedisReader) hands every node's updates to the hub in that order; a publish resolves once it is
 * stored and this node's reader has handed it over, so that the listener has seen it, as the
 * contract wants.
 */
export class RedisTransport implements Transport, ReportsHealth, SharedTransport {
  readonly nodeId = randomUUID();
  readonly #client: RedisClient;
  readonly #scripts: RedisScripts;
  readonly #keys: RedisKeys;
  readonly #where: string;
  readonly #retention: HistoryRetention;
  readonly #subscriptionHistorySize: number;
  readonly #logger: Logger | undefined;
  readonly #activeAtOpen: readonly Update[];
  readonly #reader: RedisReader;
  readonly #trimTimer: NodeJS.Timeout;
  #listener: UpdateListener = () => {};
  #waiting: Waiting[] = [];
  /** subscription id → the event that began it, of the subscriptions this node began. */
  readonly #ownSubscriptions = new Map<string, Update>();
  #presence: RedisPresence | undefined;
  /** Why the last write failed, until one succeeds. */
  #writeFailure: string | undefined;
  #closed = false;

  private constructor(
    fields: {
      client: RedisClient;
      scripts: RedisScripts;
      keys: RedisKeys;
      where: string;
      activeAtOpen: readonly Update[];
      readerClient: RedisClient;
      after: Position;
    },
    options: RedisTransportOptions,
  ) {
    this.#client = fields.client;
    this.#scripts = fields.scripts;
    this.#keys = fields.keys;
    this.#where = fields.where;
    this.#activeAtOpen = fields.activeAtOpen;
    this.#retention = options.retention;
    this.#subscriptionHistorySize = options.subscriptionHistorySize ?? DEFAULT_SUBSCRIPTION_HISTORY_SIZE;
    this.#logger = options.logger;
    this.#reader = new RedisReader(
      fields.readerClient,
      fields.keys,
      fields.after,
      (update, position) => this.#handOver(update, position),
      options.logger,
    );
    this.#trimTimer = setInterval(() => void this.#trim(), options.trimIntervalMs ?? 1000).unref();
  }

  /** Connects, checks the server, loads the scripts and takes the snapshot the reader starts from. */
  static async open(options: RedisTransportOptions): Promise<RedisTransport> {
    const where = describeRedisUrl(options.url);
    const keys = redisKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    const client = await connectRedis(options.url, where, { blocking: false });
    let readerClient: RedisClient | undefined;
    try {
      const scripts = await RedisScripts.load(client, where);
      const [after, active] = await scripts.snapshot(keys);
      readerClient = await connectRedis(options.url, where, { blocking: true });
      const transport = new RedisTransport(
        { client, scripts, keys, where, activeAtOpen: active, readerClient, after },
        options,
      );
      try {
        transport.#presence = await RedisPresence.start(
          scripts,
          keys,
          transport.nodeId,
          options.leaseMs ?? DEFAULT_LEASE_MS,
          {
            endForDeadNode: (event, begun) => transport.#store(event, begun),
            announceAgain: () => transport.#announceAgain(),
          },
          options.logger,
        );
      } catch (error) {
        await transport.close();
        throw new TransportError(
          `cannot take this node's lease in Redis at ${where}: ${explainRedisError(error)}`,
          {
            cause: error,
          },
        );
      }
      return transport;
    } catch (error) {
      if (client.isOpen) client.destroy();
      if (readerClient?.isOpen) readerClient.destroy();
      throw error;
    }
  }

  listen(listener: UpdateListener): void {
    this.#listener = listener;
  }

  activeSubscriptionsAtOpen(): readonly Update[] {
    return this.#activeAtOpen;
  }

  async publish(update: Update): Promise<Position> {
    if (this.#closed) throw new TransportError("the Redis transport is closed");
    const position = (await this.#store(update, ""))!;
    return this.#delivered(position);
  }

  /**
   * Runs the store script; `begun`, for the end of a dead node's subscription: stored only if the
   * event at that position still begins it (undefined otherwise).
   */
  async #store(update: Update, begun: Position): Promise<Position | undefined> {
    const encoded = encodeUpdate(update);
    const state = update.kind === "subscription" ? subscriptionStateOf(update) : undefined;
    const { maxCount, maxAgeMs, maxBytes } = this.#retention;
    let position: Position | undefined;
    try {
      position = await this.#scripts.store(this.#keys, [
        update.kind,
        update.id,
        encoded,
        String(Buffer.byteLength(encoded)),
        String(maxCount),
        String(maxAgeMs ?? -1),
        String(maxBytes ?? -1),
        String(this.#subscriptionHistorySize),
        state?.id ?? "",
        state?.active ? "1" : "0",
        this.nodeId,
        begun,
      ]);
    } catch (error) {
      throw this.#writeFailed(error);
    }
    this.#writesWork();
    if (state !== undefined && position !== undefined && begun === "") {
      if (state.active) this.#ownSubscriptions.set(state.id, update);
      else this.#ownSubscriptions.delete(state.id);
    }
    return position;
  }

  /** This node's subscriptions, begun again with fresh events after its lease lapsed. */
  async #announceAgain(): Promise<void> {
    for (const event of [...this.#ownSubscriptions.values()]) {
      await this.publish(
        createUpdate(
          {
            topics: event.topics,
            data: event.data,
            id: undefined,
            type: event.type,
            retry: event.retry,
            private: event.private,
          },
          "subscription",
        ),
      );
    }
  }

  /** Resolves once the reader has handed `position` over (or after DELIVERY_WAIT_MS: it is stored). */
  #delivered(position: Position): Promise<Position> {
    if (compareStreamIds(position, this.#reader.last) <= 0) return Promise.resolve(position);
    return new Promise((resolve) => {
      const waiting = { position, resolve };
      this.#waiting.push(waiting);
      setTimeout(() => {
        this.#waiting = this.#waiting.filter((other) => other !== waiting);
        resolve(position);
      }, DELIVERY_WAIT_MS).unref();
    });
  }

  #handOver(update: Update, position: Position): void {
    this.#listener(update, position);
    if (this.#waiting.length === 0) return;
    const still: Waiting[] = [];
    for (const waiting of this.#waiting) {
      if (compareStreamIds(waiting.position, position) <= 0) waiting.resolve(waiting.position);
      else still.push(waiting);
    }
    this.#waiting = still;
  }

  #writeFailed(error: unknown): TransportError {
    const reason = explainRedisError(error);
    if (this.#writeFailure === undefined) {
      this.#logger?.error(
        {},
        `Redis at ${this.#where} refuses writes: ${reason}; publishes are refused until it accepts them`,
      );
    }
    this.#writeFailure = `Redis at ${this.#where} refuses writes: ${reason}`;
    return new TransportError(`cannot store the update in Redis at ${this.#where}: ${reason}`, {
      cause: error,
    });
  }

  #writesWork(): void {
    if (this.#writeFailure === undefined) return;
    this.#writeFailure = undefined;
    this.#logger?.info({}, `Redis at ${this.#where} accepts writes again; publishes are accepted`);
  }

  /** Age and large excesses, in the background; also the probe that finds writes work again. */
  async #trim(): Promise<void> {
    if (this.#closed) return;
    const { maxCount, maxAgeMs, maxBytes } = this.#retention;
    try {
      const budgetLeft = await this.#scripts.trim(this.#keys, [
        String(maxCount),
        String(maxAgeMs ?? -1),
        String(maxBytes ?? -1),
      ]);
      this.#writesWork();
      if (budgetLeft <= 0) setImmediate(() => void this.#trim());
    } catch (error) {
      if (!this.#closed) this.#writeFailed(error);
    }
  }

  async replay(
    cursor: string,
    visible?: (update: Pick<Update, "topics" | "private">) => boolean,
  ): Promise<Replay> {
    const found = cursor === EARLIEST ? undefined : await this.#find(cursor);
    const known = found !== undefined && (visible === undefined || visible(found.update));
    return {
      anchor: known ? cursor : EARLIEST,
      entries: this.#entriesAfter(known ? found.position : BEFORE_FIRST),
    };
  }

  /** The earliest kept occurrence of an id, in either stream, found through the id indexes. */
  async #find(id: string): Promise<{ position: Position; update: Update } | undefined> {
    const [inUpdates, inEvents] = await this.#read(() =>
      Promise.all([this.#client.hGet(this.#keys.updateIds, id), this.#client.hGet(this.#keys.eventIds, id)]),
    );
    const first = (kept: string | null | undefined) => kept?.split(" ")[0];
    const candidates = [
      { key: this.#keys.updates, position: first(inUpdates) },
      { key: this.#keys.events, position: first(inEvents) },
    ].filter((candidate): candidate is { key: string; position: string } => candidate.position !== undefined);
    candidates.sort((a, b) => compareStreamIds(a.position, b.position));
    const earliest = candidates[0];
    if (earliest === undefined) return undefined;
    const [entry] = (await this.#read(() =>
      this.#client.xRange(earliest.key, earliest.position, earliest.position),
    )) as StreamEntry[];
    // Dropped between the two reads: as unknown as any discarded cursor.
    if (entry === undefined) return undefined;
    return { position: earliest.position, update: decodeUpdate(entry.message.u ?? "") };
  }

  /**
   * Pages of both streams after `after`, merged by position. A page whose updates retention
   * dropped before they were sent ends the replay with an error rather than a gap.
   */
  async *#entriesAfter(start: Position): AsyncGenerator<ReplayEntry> {
    let after = start;
    let first = true;
    for (;;) {
      if (this.#closed) return;
      const [updates, events, trimmed] = (await this.#read(() =>
        this.#client
          .multi()
          .xRange(this.#keys.updates, `(${after}`, "+", { COUNT: REPLAY_PAGE })
          .xRange(this.#keys.events, `(${after}`, "+", { COUNT: REPLAY_PAGE })
          .get(this.#keys.trimmed)
          .exec(),
      )) as unknown as [StreamEntry[], StreamEntry[], string | null];
      // Dropped before the replay began: not owed. Dropped since: what it had yet to send is gone.
      if (!first && trimmed !== null && compareStreamIds(trimmed, after) > 0) throw overtaken();
      first = false;
      const { entries, complete } = mergePages(updates, events, REPLAY_PAGE);
      for (const entry of entries) {
        yield { update: decodeUpdate(entry.message.u ?? ""), position: entry.id };
        after = entry.id;
      }
      if (complete) return;
    }
  }

  async #read<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await answeredInTime(read());
    } catch (error) {
      throw new TransportError(
        `cannot read history from Redis at ${this.#where}: ${explainRedisError(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  comparePositions(a: Position, b: Position): number {
    return compareStreamIds(a, b);
  }

  /** Unhealthy while Redis cannot be reached, refuses writes, or the reader cannot read. */
  health(): TransportHealth {
    if (this.#closed) return { healthy: true };
    if (!this.#client.isReady) return { healthy: false, reason: `Redis at ${this.#where} cannot be reached` };
    const failure = this.#writeFailure ?? this.#reader.failure;
    return failure === undefined ? { healthy: true } : { healthy: false, reason: failure };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#trimTimer);
    await this.#presence?.close();
    await this.#reader.close();
    for (const waiting of this.#waiting) waiting.resolve(waiting.position);
    this.#waiting = [];
    this.#client.destroy();
  }
}
