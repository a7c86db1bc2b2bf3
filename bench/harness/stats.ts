/** Percentiles and rounding for the results table. */

/** The value below which `p` (0–100) percent of `values` fall (nearest rank); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Percentiles of a latency distribution (ms), as every scenario reports them. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export function latencySummary(values: readonly number[]): LatencySummary {
  return {
    count: values.length,
    p50: round(percentile(values, 50), 2),
    p99: round(percentile(values, 99), 2),
    p999: round(percentile(values, 99.9), 2),
    max: round(percentile(values, 100), 2),
  };
}

export function round(value: number, digits = 0): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
