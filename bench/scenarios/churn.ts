/**
 * churn: subscribers that come and go (a connect, a head, a moment's stream, a close) at a steady
 * rate, while steady subscribers stay on one topic. Reports the connects per second achieved,
 * errors, time from connect() to the full response head, the hub's CPU per connect, and whether
 * its descriptors and memory come back to where they were before the churn (a leak would not).
 *
 * Half the churning subscribers join the steady topic (a stream added to and removed from a big
 * subscriber set); the other half each subscribe to a topic of their own (a topic created and
 * dropped per connect: a hub that never forgets topics grows by one entry each time). After the
 * churn one event goes to the steady topic: a hub that broke its steady streams is invalid.
 */
import { CHURN_ERROR_KINDS, type ChurnErrorKind, SEQUENCE_MARKER } from "../harness/churner.ts";
import { ChurnerPool, type ChurnReport } from "../harness/churner-pool.ts";
import type { GeneratorPool } from "../harness/generator-pool.ts";
import { type ProcSample, sample } from "../harness/proc-sampler.ts";
import { Publisher } from "../harness/publisher.ts";
import type { Rig, Scenario } from "../harness/scenario.ts";
import { type LatencySummary, latencySummary, round } from "../harness/stats.ts";
import type { Target } from "../harness/target.ts";

export interface ChurnCase {
  /** Subscribers that stay connected through the churn, on one topic. */
  readonly steady: number;
  /** Connects per second asked for. */
  readonly rate: number;
  readonly seconds: number;
  /** How long each churning stream stays open after its head (ms). */
  readonly holdMs: number;
  /** Wait after the steady subscribers connect, before the baseline sample (ms). */
  readonly settleBeforeMs: number;
  /** Wait after the churn, before the sample compared with the baseline (ms): no GC is forced. */
  readonly settleAfterMs: number;
  /** Churner processes the rate is split between. */
  readonly churners: number;
}

/** The hub's descriptors and memory at one moment. */
export interface Footprint {
  readonly fds: number;
  readonly rssBytes: number;
}

export interface ChurnResult {
  readonly case: ChurnCase;
  /** Successful connects per second (a 200 head, the stream held until the client closed it). */
  readonly connectsPerSecond: number;
  readonly attempted: number;
  readonly succeeded: number;
  /** Connects the schedule made due but the churners did not start: too many awaited a head. */
  readonly behind: number;
  /** Failed connects, all kinds together (attempted = succeeded + errors). */
  readonly errors: number;
  /** The kinds that occurred, with the first of each as seen (a status line, an error code). */
  readonly errorsByKind: Partial<Record<ChurnErrorKind, number>>;
  readonly errorExamples: Partial<Record<ChurnErrorKind, string>>;
  /** connect() to the end of the response head (ms), one sample per success. */
  readonly timeToHeaders: LatencySummary;
  /** The smallest time to headers (ms), unrounded. */
  readonly timeToHeadersMin: number;
  /** The hub's CPU (its whole process tree) during the churn, per successful connect. */
  readonly hubCpuMicrosPerConnect: number;
  /** Before the churn (the steady subscribers connected and settled), after each round settled. */
  readonly baseline: Footprint;
  readonly afterFirstRound: Footprint;
  readonly after: Footprint;
  readonly fdsRatio: number;
  readonly rssRatio: number;
  /** RSS after the second round over RSS after the first: what a leak would keep growing. */
  readonly rssSecondRoundRatio: number;
  /** Every steady subscriber, still connected, received the event published after the churn. */
  readonly steadyGotEvent: boolean;
  /** The busiest churner's CPU share (1 = a core saturated). */
  readonly churnerCpuShare: number;
  readonly invalid?: string;
}

const TOPIC = "https://example.com/bench/churn";
/** Each churning subscriber of the other half gets a topic of its own. */
const FRESH_TOPIC = `https://example.com/bench/churn/${SEQUENCE_MARKER}`;

const quickCase = { steady: 5000, seconds: 3, holdMs: 50, settleBeforeMs: 500, settleAfterMs: 2000 };
const fullCase = { steady: 5000, seconds: 15, holdMs: 50, settleBeforeMs: 1000, settleAfterMs: 3000 };

export const churn: Scenario<ChurnCase, ChurnResult> = {
  name: "churn",
  summary: "subscribers connecting and leaving at a steady rate beside steady subscribers",
  cases: (quick) =>
    quick
      ? // The target's rate only, so that three hubs take under a minute.
        [{ ...quickCase, rate: 5000, churners: 1 }]
      : [
          { ...fullCase, rate: 1000, churners: 1 },
          { ...fullCase, rate: 2500, churners: 1 },
          { ...fullCase, rate: 5000, churners: 1 },
        ],
  label: (c) => `${c.steady.toLocaleString("en")} steady, ${c.rate.toLocaleString("en")} connects/s`,
  run: runChurn,
  headline: { label: "connects/s", value: (r) => r.connectsPerSecond, higherIsBetter: true },
  columns: [
    { header: "errors", value: (r) => r.errors },
    { header: "time to headers p99 ms", value: (r) => r.timeToHeaders.p99 },
    { header: "fds after/before", value: (r) => r.fdsRatio },
    { header: "RSS after/before", value: (r) => r.rssRatio },
    { header: "RSS round 2/round 1", value: (r) => r.rssSecondRoundRatio },
    { header: "hub CPU µs/connect", value: (r) => r.hubCpuMicrosPerConnect },
  ],
  latency: (r) => r.timeToHeaders,
};

async function runChurn(target: Target, c: ChurnCase, rig: Rig): Promise<ChurnResult> {
  const pool = rig.startPool(1);
  const churners = ChurnerPool.start(c.churners);
  const publisher = new Publisher(target, 1);
  try {
    await openSteady(target, pool, c.steady);
    await pool.warmUp(publisher, TOPIC, 32);

    await sleep(c.settleBeforeMs);
    const baseline = sample(target.pid);
    const churnOnce = () =>
      churners.run({
        port: target.port,
        requests: [target.subscribeRequest(TOPIC), target.subscribeRequest(FRESH_TOPIC)],
        rate: c.rate,
        durationMs: c.seconds * 1000,
        holdMs: c.holdMs,
        timeoutMs: 5000,
        // A second's worth of connects awaiting their head: beyond that the hub has stalled.
        maxInFlight: Math.max(100, c.rate),
      });
    // Two rounds: a runtime with a garbage-collected heap keeps some of the memory the first
    // round grew, and only memory that grows again in the second round is a leak.
    const first = await churnOnce();
    const firstEnd = sample(target.pid);
    await sleep(c.settleAfterMs);
    const afterFirst = sample(target.pid);
    const second = await churnOnce();
    const secondEnd = sample(target.pid);
    await sleep(c.settleAfterMs);
    const after = sample(target.pid);
    const churned = combine(first, second);
    const churnCpuMicros =
      firstEnd.cpuMicros - baseline.cpuMicros + (secondEnd.cpuMicros - afterFirst.cpuMicros);

    const published = await publisher.publish(TOPIC, 1, 32, 1);
    const delivered = published.failed === 0 && (await pool.complete(1, 5000));
    const steady = await pool.report();
    const steadyGotEvent =
      delivered && steady.sockets === c.steady && steady.closedEarly === 0 && steady.minPerSocket === 1;

    const errors = CHURN_ERROR_KINDS.reduce((total, kind) => total + churned.errors[kind], 0);
    const errorsByKind: Partial<Record<ChurnErrorKind, number>> = {};
    for (const kind of CHURN_ERROR_KINDS)
      if (churned.errors[kind] > 0) errorsByKind[kind] = churned.errors[kind];

    const problems: string[] = [];
    if (churned.maxCpuShare > 0.9)
      problems.push(`a churner used ${round(churned.maxCpuShare * 100)}% of a core`);
    if (steady.maxCpuShare > 0.9)
      problems.push(`the steady generator used ${round(steady.maxCpuShare * 100)}% of a core`);
    if (churned.connectsPerSecond < 0.95 * c.rate)
      problems.push(
        `${round(churned.connectsPerSecond)} connects/s of ${c.rate} asked (${churned.behind} behind, ${errors} errors)`,
      );
    if (!steadyGotEvent)
      problems.push(
        `steady subscribers lost the event: ${steady.sockets - steady.closedEarly} of ${c.steady} open, ` +
          `${steady.minPerSocket}–${steady.maxPerSocket} events each`,
      );
    return {
      case: c,
      connectsPerSecond: round(churned.connectsPerSecond),
      attempted: churned.attempted,
      succeeded: churned.succeeded,
      behind: churned.behind,
      errors,
      errorsByKind,
      errorExamples: churned.examples,
      timeToHeaders: latencySummary(churned.timesToHeaders),
      timeToHeadersMin: churned.timesToHeaders.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY),
      hubCpuMicrosPerConnect: round(churnCpuMicros / Math.max(1, churned.succeeded), 1),
      baseline: footprint(baseline),
      afterFirstRound: footprint(afterFirst),
      after: footprint(after),
      fdsRatio: round(after.fds / baseline.fds, 3),
      rssRatio: round(after.rssBytes / baseline.rssBytes, 3),
      rssSecondRoundRatio: round(after.rssBytes / afterFirst.rssBytes, 3),
      steadyGotEvent,
      churnerCpuShare: round(churned.maxCpuShare, 3),
      ...(problems.length > 0 ? { invalid: problems.join("; ") } : {}),
    };
  } finally {
    publisher.close();
    await churners.close();
  }
}

/**
 * Opens the steady subscribers 500 at a time, each batch once the hub has accepted the one before
 * (its descriptors say so): a hub that accepts slower than a burst arrives would overflow its
 * listen queue, and each dropped SYN costs a second's retransmit.
 */
async function openSteady(target: Target, pool: GeneratorPool, count: number): Promise<void> {
  const request = target.subscribeRequest(TOPIC);
  const before = sample(target.pid).fds;
  for (let opened = 0; opened < count; ) {
    const batch = Math.min(500, count - opened);
    const { failed } = await pool.open(target.port, request, batch, 0);
    if (failed > 0) throw new Error(`${failed} of ${count} steady subscribers could not connect`);
    opened += batch;
    for (let i = 0; i < 200 && sample(target.pid).fds < before + opened; i++) await sleep(10);
  }
}

/** Two rounds' reports as one: counts added, samples joined, the slower rate and busier churner kept. */
function combine(a: ChurnReport, b: ChurnReport): ChurnReport {
  const errors = { ...a.errors };
  for (const kind of CHURN_ERROR_KINDS) errors[kind] += b.errors[kind];
  return {
    ...a,
    attempted: a.attempted + b.attempted,
    succeeded: a.succeeded + b.succeeded,
    behind: a.behind + b.behind,
    errors,
    examples: { ...b.examples, ...a.examples },
    timesToHeaders: [...a.timesToHeaders, ...b.timesToHeaders],
    connectsPerSecond: Math.min(a.connectsPerSecond, b.connectsPerSecond),
    maxCpuShare: Math.max(a.maxCpuShare, b.maxCpuShare),
  };
}

function footprint(s: ProcSample): Footprint {
  return { fds: s.fds, rssBytes: s.rssBytes };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
