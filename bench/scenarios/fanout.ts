/**
 * fanout: N subscribers on one topic, events published as fast as `inflight` publishes allow.
 * Reports deliveries per second (from the first publish until every subscriber holds every
 * event), the hub's CPU per delivery, events per write(2), and publish latency.
 */
import { HTTP1, SOCKETS_PER_GENERATOR, type SubscriberProtocol } from "../harness/generator-pool.ts";
import { sample } from "../harness/proc-sampler.ts";
import { Publisher } from "../harness/publisher.ts";
import type { Rig, Scenario } from "../harness/scenario.ts";
import { type LatencySummary, latencySummary, round } from "../harness/stats.ts";
import type { Target } from "../harness/target.ts";

export interface FanoutCase {
  readonly subscribers: number;
  readonly events: number;
  readonly inflight: number;
  readonly bytes: number;
}

export interface FanoutResult {
  readonly case: FanoutCase;
  readonly deliveriesPerSecond: number;
  readonly hubCpuMicrosPerDelivery: number;
  readonly eventsPerWrite: number;
  readonly publish: LatencySummary;
  /** Publish-to-deliver latency seen by the probe subscribers, queueing included. */
  readonly deliver: LatencySummary;
  readonly complete: boolean;
  /** Events each subscriber counted: both `events` when nothing was lost or duplicated. */
  readonly perSubscriber: { readonly min: number; readonly max: number };
  /** The busiest generator's CPU share over the measurement (1 = a core saturated). */
  readonly generatorCpuShare: number;
  /**
   * The hub's CPU share over the measurement, and the share its main thread waited for its core
   * (other work on that core, or the hub's own helper threads).
   */
  readonly hubCpuShare: number;
  readonly hubWaitShare: number;
  /** Why the run cannot be trusted (a saturated generator, missing events), if it cannot. */
  readonly invalid?: string;
}

const TOPIC = "https://example.com/bench/fanout";

export const fanout: Scenario<FanoutCase, FanoutResult> = {
  name: "fanout",
  summary: "subscribers on one topic, events published as fast as the hub takes them",
  cases: (quick) =>
    quick
      ? [
          { subscribers: 1000, events: 1000, inflight: 16, bytes: 32 },
          { subscribers: 10_000, events: 100, inflight: 16, bytes: 32 },
        ]
      : [
          { subscribers: 1000, events: 5000, inflight: 16, bytes: 32 },
          { subscribers: 1000, events: 2000, inflight: 16, bytes: 1024 },
          { subscribers: 10_000, events: 500, inflight: 16, bytes: 32 },
          { subscribers: 10_000, events: 200, inflight: 16, bytes: 1024 },
        ],
  label: (c) => `${c.subscribers.toLocaleString("en")} subscribers, ${c.bytes} B`,
  run: (target, c, rig) => runFanout(target, c, rig),
  headline: { label: "deliveries/s", value: (r) => r.deliveriesPerSecond, higherIsBetter: true },
  columns: [
    { header: "hub CPU µs/delivery", value: (r) => r.hubCpuMicrosPerDelivery },
    { header: "events/write", value: (r) => r.eventsPerWrite },
    { header: "publish p99 ms", value: (r) => r.publish.p99 },
    { header: "deliver p99 ms", value: (r) => r.deliver.p99 },
  ],
  latency: (r) => r.deliver,
};

/**
 * One fan-out case, its subscribers speaking `protocol`; the subscribers are closed before it
 * returns, so that another measurement can follow on the same hub (h2fanout).
 */
export async function runFanout(
  target: Target,
  c: FanoutCase,
  rig: Rig,
  protocol: SubscriberProtocol = HTTP1,
): Promise<FanoutResult> {
  const pool = rig.startPool(Math.ceil(c.subscribers / SOCKETS_PER_GENERATOR), undefined, protocol);
  const opened = await pool.open(target.port, target.subscribeRequest(TOPIC), c.subscribers, 200);
  if (opened.failed > 0)
    throw new Error(`${opened.failed} of ${c.subscribers} subscribers could not connect`);
  const publisher = new Publisher(target, c.inflight);
  try {
    await pool.warmUp(publisher, TOPIC, c.bytes);

    const before = sample(target.pid);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const run = await publisher.publish(TOPIC, c.events, c.bytes, c.inflight);
    const complete = await pool.complete(c.events, 60_000);
    const seconds = (performance.now() - started) / 1000;
    const coordinatorCpu = process.cpuUsage(cpuBefore);
    const after = sample(target.pid);
    const counted = await pool.report();

    const deliveries = counted.events;
    const coordinatorShare = (coordinatorCpu.user + coordinatorCpu.system) / (seconds * 1e6);
    const problems: string[] = [];
    if (!complete || run.failed > 0 || counted.maxPerSocket !== c.events) {
      problems.push(
        `incomplete: ${run.failed} publishes failed, per subscriber ${counted.minPerSocket}–${counted.maxPerSocket} of ${c.events}`,
      );
    }
    if (counted.maxCpuShare > 0.9)
      problems.push(`a generator used ${round(counted.maxCpuShare * 100)}% of a core`);
    if (coordinatorShare > 0.9)
      problems.push(`the publisher used ${round(coordinatorShare * 100)}% of a core`);
    return {
      case: c,
      deliveriesPerSecond: round(deliveries / seconds),
      hubCpuMicrosPerDelivery: round((after.cpuMicros - before.cpuMicros) / deliveries, 3),
      eventsPerWrite: round(deliveries / Math.max(1, after.writeCalls - before.writeCalls), 1),
      publish: latencySummary(run.latencies),
      deliver: latencySummary(counted.latencies),
      complete,
      perSubscriber: { min: counted.minPerSocket, max: counted.maxPerSocket },
      generatorCpuShare: round(counted.maxCpuShare, 2),
      hubCpuShare: round((after.cpuMicros - before.cpuMicros) / (seconds * 1e6), 2),
      hubWaitShare: round((after.waitMicros - before.waitMicros) / (seconds * 1e6), 2),
      ...(problems.length > 0 ? { invalid: problems.join("; ") } : {}),
    };
  } finally {
    publisher.close();
    await pool.close();
  }
}
