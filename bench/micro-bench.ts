/**
 * The timing loop the micro benchmarks beside the code share (`*.bench.ts`): nanoseconds per call,
 * the median of several rounds after a warm-up, with a checksum that keeps every measured call
 * alive. No test uses it: timings belong to benchmarks, never to assertions.
 */
const ROUNDS = 7;
/** Sum of every measured result, printed at the end so that no measured call is dead code. */
let sumOfResults = 0;

export interface Timing {
  /** Nanoseconds per call, median of the rounds. */
  readonly ns: number;
  /** Half the range of the rounds, relative to the median. */
  readonly spread: number;
}

/**
 * Calls made so far: `run` gets a new index on every call, across rounds too (so that cycling
 * through inputs goes on from round to round), wrapping at 2^30 to stay a small integer.
 */
let calls = 0;

/** Calls `run` `n` times and returns the elapsed nanoseconds. */
function time(run: (i: number) => number, n: number): number {
  let sum = 0;
  const first = calls;
  const end = first + n;
  const start = process.hrtime.bigint();
  for (let i = first; i < end; i++) sum += run(i);
  const elapsed = Number(process.hrtime.bigint() - start);
  calls = end & 0x3fffffff;
  sumOfResults += sum;
  return elapsed;
}

// The call in `time` sees many closures: make it megamorphic from the start, so that no figure
// gets an inlined call that the others do not.
for (const run of [(i: number) => i, (i: number) => i + 1, (i: number) => i - 1, (i: number) => i & 1]) {
  time(run, 1000);
}

/**
 * Nanoseconds per call of `run`: the iteration count doubles until a round takes a quarter of
 * `roundMs` (this is the warm-up: the JIT has optimized `run` by then), is scaled to `roundMs`,
 * runs once more untimed, then ROUNDS timed rounds.
 */
export function measure(run: (i: number) => number, roundMs = 20): Timing {
  let n = 1;
  let elapsed = time(run, n);
  while (elapsed < roundMs * 250_000) {
    n *= 2;
    elapsed = time(run, n);
  }
  n = Math.max(1, Math.round((n * roundMs * 1e6) / elapsed));
  time(run, n);
  return summarize(Array.from({ length: ROUNDS }, () => time(run, n) / n));
}

/** The median of samples timed elsewhere (ns each), and their spread. */
export function summarize(samples: number[]): Timing {
  samples.sort((a, b) => a - b);
  const median = samples[samples.length >> 1]!;
  return { ns: median, spread: (samples[samples.length - 1]! - samples[0]!) / 2 / median };
}

/** Adds a result computed outside `measure` to the checksum. */
export function keep(result: number): void {
  sumOfResults += result;
}

/** The checksum of every measured result, printed last by each benchmark. */
export function checksum(): number {
  return sumOfResults;
}

/** Nanoseconds as printed: one decimal below 10. */
export const roundNs = (ns: number): number => (ns < 10 ? Math.round(ns * 10) / 10 : Math.round(ns));
/** A round's spread as printed: whole percent. */
export const percent = (spread: number): number => Math.round(spread * 100);
