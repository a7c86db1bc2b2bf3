/**
 * Publish-to-receipt latencies, binned: a load test may see millions of deliveries, so each
 * generator keeps counts per bucket rather than every value, and the coordinator merges the
 * buckets. Buckets grow by 1% each, so a percentile read from them is at most 1% above the true
 * value (and never above the exact maximum, which is kept).
 */
import type { LatencySink } from "./event-counter.ts";

/** The upper bound of bucket 0 (ms): anything faster is reported as this. */
const LOWEST_MS = 0.001;
/** Each bucket's upper bound is this much the previous one's. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** The last bucket (about 15 minutes): slower deliveries are counted in it. */
const LAST_BUCKET = Math.ceil(Math.log(1e6 / LOWEST_MS) / LOG_GROWTH);

/** A histogram as it crosses between processes: [bucket, count] pairs, with the exact maximum. */
export interface HistogramSnapshot {
  readonly buckets: readonly (readonly [number, number])[];
  readonly count: number;
  readonly max: number;
}

/** Counts latencies (ms) per 1% bucket; answers percentiles from the counts. */
export class LatencyHistogram implements LatencySink {
  readonly #counts = new Map<number, number>();
  #count = 0;
  #max = 0;

  /** How many latencies were counted. */
  get count(): number {
    return this.#count;
  }

  /** The exact largest latency counted (0 when none). */
  get max(): number {
    return this.#max;
  }

  /** Counts one latency; a negative one (clocks a hair apart) counts as the fastest. */
  push(latency: number): void {
    const bucket =
      latency <= LOWEST_MS ? 0 : Math.min(LAST_BUCKET, Math.ceil(Math.log(latency / LOWEST_MS) / LOG_GROWTH));
    this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + 1);
    this.#count++;
    if (latency > this.#max) this.#max = latency;
  }

  /** Adds another histogram's counts (one generator's) to this one. */
  merge(snapshot: HistogramSnapshot): void {
    for (const [bucket, count] of snapshot.buckets)
      this.#counts.set(bucket, (this.#counts.get(bucket) ?? 0) + count);
    this.#count += snapshot.count;
    if (snapshot.max > this.#max) this.#max = snapshot.max;
  }

  /**
   * The latency below which `p` (0–100) percent fall (nearest rank), as its bucket's upper bound
   * capped at the maximum, so that p50 <= p90 <= p99 <= max always holds; NaN when empty.
   */
  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN;
    const rank = Math.min(this.#count, Math.max(1, Math.ceil((p / 100) * this.#count)));
    let seen = 0;
    for (const bucket of [...this.#counts.keys()].sort((a, b) => a - b)) {
      seen += this.#counts.get(bucket)!;
      if (seen >= rank) return Math.min(this.#max, LOWEST_MS * GROWTH ** bucket);
    }
    return this.#max;
  }

  /** The counts, to send to the coordinator. */
  snapshot(): HistogramSnapshot {
    return { buckets: [...this.#counts], count: this.#count, max: this.#max };
  }

  /** Forgets every latency counted. */
  clear(): void {
    this.#counts.clear();
    this.#count = 0;
    this.#max = 0;
  }
}
