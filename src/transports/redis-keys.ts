import type { Position } from "../hub/transport.ts";

/**
 * The keys of one cluster's history. They share one prefix holding a hash tag (`{quicksilver}` by
 * default), so that they all live in one Redis Cluster slot, where one Lua script may touch them
 * all; several clusters share one Redis under different prefixes.
 */
export interface RedisKeys {
  /** The newest position given (`ms-seq`): positions never go backwards, whatever the clock. */
  readonly last: string;
  /** Published updates, a Stream: fields `i` (id), `u` (the encoded update), `s` (its size). */
  readonly updates: string;
  /** id → the positions of its kept occurrences in `updates`, oldest first, space-separated. */
  readonly updateIds: string;
  /** The bytes the kept updates take. */
  readonly bytes: string;
  /** The newest position retention dropped from `updates`: a replay behind it was overtaken. */
  readonly trimmed: string;
  /** Subscription events, a Stream of their own under their own bound. */
  readonly events: string;
  /** id → the positions of its kept occurrences in `events`. */
  readonly eventIds: string;
  /** subscription id → `position node encoded-active-event`: the cluster's active subscriptions. */
  readonly active: string;
  /** A sorted set: node id → the time (ms, Redis's clock) its lease ends. */
  readonly leases: string;
}

export const DEFAULT_KEY_PREFIX = "{quicksilver}";

export function redisKeys(prefix: string): RedisKeys {
  const key = (name: string) => `${prefix}:${name}`;
  return {
    last: key("last"),
    updates: key("updates"),
    updateIds: key("update-ids"),
    bytes: key("bytes"),
    trimmed: key("trimmed"),
    events: key("events"),
    eventIds: key("event-ids"),
    active: key("active"),
    leases: key("leases"),
  };
}

/** A Stream id, `ms-seq`, as two numbers. */
function parts(position: Position): [number, number] {
  const dash = position.indexOf("-");
  return [Number(position.slice(0, dash)), Number(position.slice(dash + 1))];
}

/** The order of Stream ids: milliseconds, then sequence, numerically. */
export function compareStreamIds(a: Position, b: Position): number {
  const [aMs, aSeq] = parts(a);
  const [bMs, bSeq] = parts(b);
  return aMs === bMs ? aSeq - bSeq : aMs - bMs;
}

/** The position of no update: below every Stream id. */
export const BEFORE_FIRST = "0-0";
