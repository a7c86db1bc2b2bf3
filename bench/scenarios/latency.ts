/**
 * latency: subscribers on one topic receive events published at a steady rate, well below
 * saturation; probe subscribers read the publish time each event carries and report
 * publish-to-deliver latency. This is what a user of a live dashboard feels.
 */
import { SOCKETS_PER_GENERATOR } from "../harness/generator-pool.ts";
import { sample } from "../harness/proc-sampler.ts";
import { Publisher } from "../harness/publisher.ts";
import type { Rig, Scenario, ScenarioResult } from "../harness/scenario.ts";
import { type LatencySummary, latencySummary, round } from "../harness/stats.ts";
import type { Target } from "../harness/target.ts";

export interface LatencyCase {
  readonly subscribers: number;
  readonly perSecond: number;
  readonly seconds: number;
  readonly bytes: number;
}

export interface LatencyResult extends ScenarioResult<LatencyCase> {
  /** Publish-to-deliver, as the probe subscribers saw it (ms). */
  readonly deliver: LatencySummary;
  /** Request-to-response of each publish (ms). */
  readonly publish: LatencySummary;
  /** The hub's CPU use over the run, in percent of one core. */
  readonly hubCpuPercent: number;
  readonly perSubscriber: { readonly min: number; readonly max: number };
}

const TOPIC = "https://example.com/bench/latency";
const PROBES = 200;

export const latency: Scenario<LatencyCase, LatencyResult> = {
  name: "latency",
  summary: "subscribers on one topic, events at a steady rate: publish-to-deliver latency",
  cases: (quick) => [
    { subscribers: 1000, perSecond: 50, seconds: quick ? 6 : 30, bytes: 100 },
    { subscribers: 10_000, perSecond: 5, seconds: quick ? 6 : 30, bytes: 100 },
  ],
  label: (c) => `${c.subscribers.toLocaleString("en")} subscribers × ${c.perSecond}/s`,
  run: runLatency,
  headline: { label: "deliver p99 ms", value: (r) => r.deliver.p99, higherIsBetter: false },
  columns: [
    { header: "p50 ms", value: (r) => r.deliver.p50 },
    { header: "p99.9 ms", value: (r) => r.deliver.p999 },
    { header: "max ms", value: (r) => r.deliver.max },
    { header: "samples", value: (r) => r.deliver.count },
    { header: "hub CPU %", value: (r) => r.hubCpuPercent },
  ],
  latency: (r) => r.deliver,
};

async function runLatency(target: Target, c: LatencyCase, rig: Rig): Promise<LatencyResult> {
  const pool = rig.startPool(Math.ceil(c.subscribers / SOCKETS_PER_GENERATOR));
  const opened = await pool.open(target.port, target.subscribeRequest(TOPIC), c.subscribers, PROBES);
  if (opened.failed > 0)
    throw new Error(`${opened.failed} of ${c.subscribers} subscribers could not connect`);
  const publisher = new Publisher(target, 32);
  try {
    await pool.warmUp(publisher, TOPIC, c.bytes);

    const events = c.perSecond * c.seconds;
    const before = sample(target.pid);
    const started = performance.now();
    const run = await publisher.paced(() => TOPIC, events, c.perSecond, c.bytes);
    const complete = await pool.complete(events, 30_000);
    const seconds = (performance.now() - started) / 1000;
    const after = sample(target.pid);
    const counted = await pool.report();

    const problems: string[] = [];
    if (!complete || run.failed > 0 || counted.maxPerSocket !== events) {
      problems.push(
        `incomplete: ${run.failed} publishes failed, per subscriber ${counted.minPerSocket}–${counted.maxPerSocket} of ${events}`,
      );
    }
    if (counted.maxCpuShare > 0.9)
      problems.push(`a generator used ${round(counted.maxCpuShare * 100)}% of a core`);
    return {
      case: c,
      deliver: latencySummary(counted.latencies),
      publish: latencySummary(run.latencies),
      hubCpuPercent: round(((after.cpuMicros - before.cpuMicros) / (seconds * 1e6)) * 100, 1),
      perSubscriber: { min: counted.minPerSocket, max: counted.maxPerSocket },
      ...(problems.length > 0 ? { invalid: problems.join("; ") } : {}),
    };
  } finally {
    publisher.close();
  }
}
