/**
 * publish: publishes per second with no subscriber, history on (durable for Quicksilver: its
 * sqlite store at full durability, as `serve` keeps it by default; Nchan keeps its message buffer
 * in memory). C keep-alive connections, each with one publish in flight, from raw-socket clients
 * (publish-client.ts) that cost the hub's core nothing and their own little. Every body differs.
 */

import { sample } from "../harness/proc-sampler.ts";
import { PublishClientPool, publishTemplate } from "../harness/publish-client-pool.ts";
import { CLIENT_CORE_COUNT } from "../harness/rig.ts";
import type { Rig, Scenario } from "../harness/scenario.ts";
import { type LatencySummary, latencySummary, round } from "../harness/stats.ts";
import type { Target } from "../harness/target.ts";

export interface PublishCase {
  /** Keep-alive connections, one publish in flight on each. */
  readonly connections: number;
  /** Publish exactly this many, or … */
  readonly count?: number;
  /** … as many as fit in this time. */
  readonly durationMs?: number;
  /** Bytes of data per publish (the first 16 are its sequence number). */
  readonly bytes: number;
  /** Publishes sent first, over the same connections, and not measured. */
  readonly warmup: number;
}

export interface PublishResult {
  readonly case: PublishCase;
  readonly publishesPerSecond: number;
  /** Publishes answered 2xx. */
  readonly completed: number;
  /** Publishes answered otherwise, or lost with their connection. */
  readonly failed: number;
  readonly firstFailure?: string;
  /** Connections the hub closed and the clients reopened (nginx's keepalive_requests, say). */
  readonly reconnects: number;
  readonly seconds: number;
  /** Request to response of each completed publish (count is all of them, even when sampled). */
  readonly latency: LatencySummary;
  readonly hubCpuMicrosPerPublish: number;
  /** The busiest client process's share of a core. */
  readonly clientCpuShare: number;
  readonly invalid?: string;
}

/** The one topic every publish goes to. */
export const PUBLISH_TOPIC = "https://example.com/bench/publish";

export const publish: Scenario<PublishCase, PublishResult> = {
  name: "publish",
  summary: "publishes per second with no subscriber, history on (durable for Quicksilver)",
  cases: (quick) =>
    quick
      ? [{ connections: 64, count: 40_000, bytes: 100, warmup: 10_000 }]
      : [16, 64, 256].map((connections) => ({ connections, durationMs: 15_000, bytes: 100, warmup: 10_000 })),
  label: (c) => `${c.connections} connections, ${c.bytes} B`,
  hubOptions: () => ({ history: true }),
  run: runPublish,
  headline: { label: "publishes/s", value: (r) => r.publishesPerSecond, higherIsBetter: true },
  columns: [
    { header: "failed", value: (r) => r.failed },
    { header: "p99 ms", value: (r) => r.latency.p99 },
    { header: "hub CPU µs/publish", value: (r) => r.hubCpuMicrosPerPublish },
  ],
  latency: (r) => r.latency,
};

async function runPublish(target: Target, c: PublishCase, rig: Rig): Promise<PublishResult> {
  const template = publishTemplate(target, PUBLISH_TOPIC, c.bytes);
  // One client per client core: more would only share a core, and the run would be refused anyway.
  const pool = PublishClientPool.start(Math.min(CLIENT_CORE_COUNT, c.connections), (pid) =>
    rig.placeClient(pid),
  );
  try {
    const base = { port: target.port, template, connections: c.connections };
    const warm = c.warmup > 0 ? await pool.run({ ...base, count: c.warmup }) : undefined;

    const before = sample(target.pid);
    const run = await pool.run({
      ...base,
      ...(c.count === undefined ? {} : { count: c.count }),
      ...(c.durationMs === undefined ? {} : { durationMs: c.durationMs }),
    });
    const after = sample(target.pid);

    const problems: string[] = [];
    if (warm !== undefined && warm.failed > 0)
      problems.push(`${warm.failed} warm-up publishes failed (${warm.firstFailure})`);
    if (run.failed > 0) problems.push(`${run.failed} publishes failed (first: ${run.firstFailure})`);
    if (run.connectFailures > 0) problems.push(`${run.connectFailures} connection attempts failed`);
    if (run.maxCpuShare > 0.9)
      problems.push(`a publish client used ${round(run.maxCpuShare * 100)}% of a core`);
    return {
      case: c,
      publishesPerSecond: run.seconds > 0 ? round(run.completed / run.seconds) : 0,
      completed: run.completed,
      failed: run.failed,
      ...(run.firstFailure === undefined ? {} : { firstFailure: run.firstFailure }),
      reconnects: run.reconnects,
      seconds: round(run.seconds, 3),
      // Percentiles from the (possibly sampled) latencies; count and max are exact.
      latency: {
        ...latencySummary(run.latencies),
        count: run.latencyCount,
        max: round(run.maxLatency, 2),
      },
      hubCpuMicrosPerPublish: round((after.cpuMicros - before.cpuMicros) / Math.max(1, run.completed), 1),
      clientCpuShare: round(run.maxCpuShare, 2),
      ...(problems.length > 0 ? { invalid: problems.join("; ") } : {}),
    };
  } finally {
    await pool.close();
  }
}
