/**
 * The load test's latency histogram: its percentiles are the nearest-rank ones within the 1% its
 * buckets promise, never below the true value nor above the maximum, and merging the snapshots
 * of several processes gives what one histogram of every value gives.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LatencyHistogram } from "../src/loadtest/latency-histogram.ts";
import { Random } from "./helpers/seeded-random.ts";

/** The nearest-rank percentile of `values`, exactly. */
function exact(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function histogramOf(values: readonly number[]): LatencyHistogram {
  const histogram = new LatencyHistogram();
  for (const value of values) histogram.push(value);
  return histogram;
}

describe("the latency histogram", () => {
  const random = new Random(7);
  // Spread over five orders of magnitude, as a loaded hub's latencies are.
  const values = Array.from({ length: 20_000 }, () => 0.05 * 10 ** (5 * random.next()));

  it("reads each percentile at most 1% above the exact one, and never below", () => {
    const histogram = histogramOf(values);
    for (const p of [1, 50, 90, 99, 99.9]) {
      const truth = exact(values, p);
      const read = histogram.percentile(p);
      assert.ok(read >= truth * (1 - 1e-9) && read <= truth * 1.01, `p${p}: ${read} against ${truth}`);
    }
    assert.equal(histogram.max, Math.max(...values));
    assert.equal(histogram.percentile(100), histogram.max);
    assert.equal(histogram.count, values.length);
  });

  it("keeps p50 <= p90 <= p99 <= max, even with one value", () => {
    for (const sample of [values, [3.3], [0, 0, 0], [5, 5.001, 5.002]]) {
      const histogram = histogramOf(sample);
      const [p50, p90, p99] = [50, 90, 99].map((p) => histogram.percentile(p));
      assert.ok(
        p50! <= p90! && p90! <= p99! && p99! <= histogram.max,
        `${p50} ${p90} ${p99} ${histogram.max}`,
      );
    }
  });

  it("merges the snapshots of several histograms into the histogram of all their values", () => {
    const whole = histogramOf(values);
    const merged = new LatencyHistogram();
    for (let part = 0; part < 4; part++)
      merged.merge(histogramOf(values.filter((_, i) => i % 4 === part)).snapshot());
    assert.deepEqual(
      [50, 90, 99].map((p) => merged.percentile(p)),
      [50, 90, 99].map((p) => whole.percentile(p)),
    );
    assert.equal(merged.count, whole.count);
    assert.equal(merged.max, whole.max);
  });

  it("counts a negative latency (clocks a hair apart) as the fastest, and forgets all on clear", () => {
    const histogram = histogramOf([-0.2, 4]);
    assert.equal(histogram.count, 2);
    assert.ok(histogram.percentile(50) <= 0.001);
    histogram.clear();
    assert.equal(histogram.count, 0);
    assert.ok(Number.isNaN(histogram.percentile(50)));
  });
});
