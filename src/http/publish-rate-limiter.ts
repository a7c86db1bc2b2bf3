import { HttpRefusal } from "./refusal.ts";

/**
 * Publishers whose buckets are kept at once. A bucket and its key cost about 150 bytes (measured:
 * 83 for the bucket and its map entry, the rest the 43-character key): this bounds the map to
 * about 10 MB whatever the number of distinct tokens thrown at it.
 */
export const MAX_PUBLISHERS_TRACKED = 65_536;

interface Bucket {
  /** Updates the publisher may still send now, fractions included. */
  tokens: number;
  /** When `tokens` was counted, in milliseconds. */
  at: number;
}

/**
 * A token bucket per publisher (`tokenHolder`): `rate` updates per second on average, `burst` at
 * once. A publish past it is refused with 429 `publish_rate_exceeded` and a `Retry-After` saying
 * in how many whole seconds (at least 1) the next update will be taken.
 *
 * The memory is bounded: a bucket that has refilled is the same as none, so it is dropped when
 * seen at the cold end of the map (kept in order of last use); and at `MAX_PUBLISHERS_TRACKED`
 * the least recently used bucket is dropped even if it has not refilled. That publisher then
 * starts again from a full burst: at worst it sends `burst` more updates than its rate allowed,
 * which is the price of a bounded map, and needs a flood of other valid publish tokens.
 */
export class PublishRateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #maxTracked: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(rate: number, burst: number, now: () => number, maxTracked: number = MAX_PUBLISHERS_TRACKED) {
    this.#perSecond = rate;
    this.#burst = Math.max(1, burst);
    this.#now = now;
    this.#maxTracked = maxTracked;
  }

  /** Publishers whose buckets are kept now. */
  get tracked(): number {
    return this.#buckets.size;
  }

  /** Takes one update from `publisher`'s bucket, or throws the refusal. */
  take(publisher: string): void {
    const now = this.#now();
    const bucket = this.#buckets.get(publisher);
    let tokens = this.#burst;
    if (bucket !== undefined) {
      tokens = this.#refilled(bucket, now);
      // Moved to the warm end: the map's order is the order of last use.
      this.#buckets.delete(publisher);
    }
    this.#dropCold(now);
    if (tokens < 1) {
      this.#buckets.set(publisher, { tokens, at: now });
      const seconds = Math.max(1, Math.ceil((1 - tokens) / this.#perSecond));
      throw new HttpRefusal(
        "publish_rate_exceeded",
        `this publisher sends more than ${this.#perSecond} updates per second (publishRate)`,
        { headers: { "Retry-After": String(seconds) }, limit: "publishRate" },
      );
    }
    this.#buckets.set(publisher, { tokens: tokens - 1, at: now });
  }

  #refilled(bucket: Bucket, now: number): number {
    // A clock going backwards refills nothing, and takes nothing back.
    const elapsed = Math.max(0, now - bucket.at);
    return Math.min(this.#burst, bucket.tokens + (elapsed * this.#perSecond) / 1000);
  }

  /**
   * Drops buckets from the cold end: a couple that have refilled each time (amortised, no timer),
   * and, at the cap, the coldest whatever its state, to make room for one.
   */
  #dropCold(now: number): void {
    for (let i = 0; i < 2; i++) {
      const coldest = this.#buckets.entries().next();
      if (coldest.done === true || this.#refilled(coldest.value[1], now) < this.#burst) break;
      this.#buckets.delete(coldest.value[0]);
    }
    while (this.#buckets.size >= this.#maxTracked) {
      const coldest = this.#buckets.keys().next();
      if (coldest.done === true) break;
      this.#buckets.delete(coldest.value);
    }
  }
}
