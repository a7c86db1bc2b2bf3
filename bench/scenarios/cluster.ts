/**
 * cluster: Quicksilver as one process, and as 2 and 4 processes sharing one Redis, side by side.
 * Each process has its own port, as separate nodes behind a load balancer do; the subscribers are
 * spread evenly over them and the publishes sent to them in turn. One process on its memory
 * transport and one on Redis are the baselines: the cost of Redis shows between them, and what
 * more processes add after it. Then publishes per second through Redis with its append-only file
 * synced every second and on every write, beside the memory transport.
 */

import { SOCKETS_PER_GENERATOR } from "../harness/generator-pool.ts";
import { split } from "../harness/load-processes.ts";
import { sample, sampleAll } from "../harness/proc-sampler.ts";
import { PublishClientPool, publishTemplate } from "../harness/publish-client-pool.ts";
import { Publisher } from "../harness/publisher.ts";
import type { AppendFsync, RedisConfig } from "../harness/redis-server.ts";
import { CLIENT_CORE_COUNT } from "../harness/rig.ts";
import type { Rig, Scenario, ScenarioResult } from "../harness/scenario.ts";
import { type LatencySummary, latencySummary, round } from "../harness/stats.ts";
import type { Target } from "../harness/target.ts";

export interface ClusterCase {
  /** `fanout`: deliveries to subscribers; `publish`: publishes with no subscriber. */
  readonly kind: "fanout" | "publish";
  readonly nodes: number;
  /** The Redis the nodes share and how it syncs its append-only file; none: the memory transport. */
  readonly redis?: AppendFsync;
  /** Subscribers in all, spread evenly over the nodes (fanout). */
  readonly subscribers: number;
  readonly events: number;
  /** Publishes in flight at a time, in all. */
  readonly inflight: number;
  readonly bytes: number;
}

export interface ClusterResult extends ScenarioResult<ClusterCase> {
  /** Deliveries/s for fanout, publishes/s for publish. */
  readonly perSecond: number;
  /** The hub processes' CPU per delivery (fanout) or per publish (µs). */
  readonly hubCpuMicrosPerOperation: number;
  /** Redis's own CPU per delivery or per publish (µs); 0 without Redis. */
  readonly redisCpuMicrosPerOperation: number;
  /** Publish-to-deliver (fanout, probes) or request-to-response (publish) latency (ms). */
  readonly latency: LatencySummary;
  /** The Redis configuration of the run, as started; undefined on the memory transport. */
  readonly redis?: RedisConfig;
  /** Subscribers on each node, in node order (fanout). */
  readonly subscribersPerNode: readonly number[];
}

const TOPIC = "https://example.com/bench/cluster";
const PROBES = 200;
/** The durability the fan-out cases run Redis with (a production Redis keeps its file). */
const FANOUT_FSYNC: AppendFsync = "everysec";

function cases(quick: boolean): ClusterCase[] {
  const fanout = quick
    ? { kind: "fanout" as const, subscribers: 1000, events: 300, inflight: 16, bytes: 32 }
    : { kind: "fanout" as const, subscribers: 10_000, events: 300, inflight: 16, bytes: 32 };
  const publish = { kind: "publish" as const, subscribers: 0, inflight: 64, bytes: 100 };
  const publishes = quick ? 20_000 : 60_000;
  return [
    { ...fanout, nodes: 1 },
    { ...fanout, nodes: 1, redis: FANOUT_FSYNC },
    { ...fanout, nodes: 2, redis: FANOUT_FSYNC },
    { ...fanout, nodes: 4, redis: FANOUT_FSYNC },
    { ...publish, nodes: 1, events: publishes },
    { ...publish, nodes: 1, redis: "everysec", events: publishes },
    { ...publish, nodes: 1, redis: "always", events: publishes },
  ];
}

export const cluster: Scenario<ClusterCase, ClusterResult> = {
  name: "cluster",
  summary: "1, 2 and 4 processes sharing one Redis against one on memory: deliveries and publishes/s",
  cases,
  hubs: { names: ["quicksilver"], reason: "only Quicksilver shares its subscribers through Redis" },
  label: (c) =>
    [
      c.kind === "fanout" ? `fanout, ${c.subscribers.toLocaleString("en")} subscribers` : "publish",
      `${c.nodes} process${c.nodes === 1 ? "" : "es"}`,
      c.redis === undefined ? "memory" : `Redis (appendfsync ${c.redis})`,
    ].join(", "),
  hubOptions: (c) => ({ cluster: { nodes: c.nodes, ...(c.redis === undefined ? {} : { redis: c.redis }) } }),
  run: (target, c, rig) => (c.kind === "fanout" ? runFanout(target, c, rig) : runPublish(target, c, rig)),
  headline: {
    label: "deliveries/s (fanout), publishes/s (publish)",
    value: (r) => r.perSecond,
    higherIsBetter: true,
  },
  columns: [
    { header: "hub CPU µs/op", value: (r) => r.hubCpuMicrosPerOperation },
    { header: "Redis CPU µs/op", value: (r) => r.redisCpuMicrosPerOperation },
    { header: "p99 ms", value: (r) => r.latency.p99 },
    {
      header: "Redis",
      value: (r) =>
        r.redis === undefined
          ? "none"
          : `appendonly ${r.redis.appendonly}, appendfsync ${r.redis.appendfsync}`,
    },
  ],
  latency: (r) => r.latency,
};

/** The nodes of a target: its cluster's, or itself alone. */
function nodesOf(target: Target): readonly Target[] {
  return target.nodes ?? [target];
}

/** The CPU time (µs) of the hub processes and of Redis so far. */
function cpu(target: Target): { hub: number; redis: number } {
  return {
    hub: sampleAll(nodesOf(target).map((node) => node.pid)).cpuMicros,
    redis: target.redis === undefined ? 0 : sample(target.redis.pid).cpuMicros,
  };
}

async function runFanout(target: Target, c: ClusterCase, rig: Rig): Promise<ClusterResult> {
  const nodes = nodesOf(target);
  const pool = rig.startPool(Math.ceil(c.subscribers / SOCKETS_PER_GENERATOR));
  const subscribersPerNode = split(c.subscribers, nodes.length);
  for (const [i, node] of nodes.entries()) {
    const count = subscribersPerNode[i]!;
    const probes = Math.ceil(PROBES / nodes.length);
    const opened = await pool.open(node.port, node.subscribeRequest(TOPIC), count, probes);
    if (opened.failed > 0)
      throw new Error(`${opened.failed} of ${count} subscribers of node ${i} could not connect`);
  }
  const publishers = nodes.map((node) => new Publisher(node, c.inflight));
  try {
    // Published through the first node, the warm-up reaches every node's subscribers only once
    // the cluster shares them: no node is measured before it has registered its subscribers.
    await pool.warmUp(publishers[0]!, TOPIC, c.bytes);
    const before = cpu(target);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const events = split(c.events, nodes.length);
    const lanes = split(c.inflight, nodes.length);
    const runs = await Promise.all(
      publishers.map((publisher, i) => publisher.publish(TOPIC, events[i]!, c.bytes, Math.max(1, lanes[i]!))),
    );
    const complete = await pool.complete(c.events, 60_000);
    const seconds = (performance.now() - started) / 1000;
    const coordinatorCpu = process.cpuUsage(cpuBefore);
    const after = cpu(target);
    const counted = await pool.report();

    const failed = runs.reduce((sum, run) => sum + run.failed, 0);
    const deliveries = Math.max(1, counted.events);
    const coordinatorShare =
      (coordinatorCpu.user + coordinatorCpu.system) / (seconds * 1e6 * CLIENT_CORE_COUNT);
    const problems: string[] = [];
    if (!complete || failed > 0 || counted.minPerSocket !== c.events || counted.maxPerSocket !== c.events)
      problems.push(
        `incomplete: ${failed} publishes failed, per subscriber ${counted.minPerSocket}–${counted.maxPerSocket} of ${c.events}`,
      );
    if (counted.maxCpuShare > 0.9)
      problems.push(`a generator used ${round(counted.maxCpuShare * 100)}% of a core`);
    if (coordinatorShare > 0.9)
      problems.push(`the publisher used ${round(coordinatorShare * 100)}% of a core`);
    return {
      case: c,
      perSecond: round(counted.events / seconds),
      hubCpuMicrosPerOperation: round((after.hub - before.hub) / deliveries, 3),
      redisCpuMicrosPerOperation: round((after.redis - before.redis) / deliveries, 3),
      latency: latencySummary(counted.latencies),
      ...(target.redis === undefined ? {} : { redis: target.redis.config }),
      subscribersPerNode,
      ...(problems.length > 0 ? { invalid: problems.join("; ") } : {}),
    };
  } finally {
    for (const publisher of publishers) publisher.close();
  }
}

/** Publishes to the first node from raw-socket clients, as the publish scenario does. */
async function runPublish(target: Target, c: ClusterCase, rig: Rig): Promise<ClusterResult> {
  const template = publishTemplate(target, TOPIC, c.bytes);
  const pool = PublishClientPool.start(Math.min(CLIENT_CORE_COUNT, c.inflight), (pid) =>
    rig.placeClient(pid),
  );
  try {
    const base = { port: target.port, template, connections: c.inflight };
    const warm = await pool.run({ ...base, count: Math.ceil(c.events / 4) });
    const before = cpu(target);
    const run = await pool.run({ ...base, count: c.events });
    const after = cpu(target);
    const problems: string[] = [];
    if (warm.failed > 0) problems.push(`${warm.failed} warm-up publishes failed (${warm.firstFailure})`);
    if (run.failed > 0) problems.push(`${run.failed} publishes failed (first: ${run.firstFailure})`);
    if (run.maxCpuShare > 0.9)
      problems.push(`a publish client used ${round(run.maxCpuShare * 100)}% of a core`);
    const publishes = Math.max(1, run.completed);
    return {
      case: c,
      perSecond: run.seconds > 0 ? round(run.completed / run.seconds) : 0,
      hubCpuMicrosPerOperation: round((after.hub - before.hub) / publishes, 1),
      redisCpuMicrosPerOperation: round((after.redis - before.redis) / publishes, 1),
      latency: { ...latencySummary(run.latencies), count: run.latencyCount, max: round(run.maxLatency, 2) },
      ...(target.redis === undefined ? {} : { redis: target.redis.config }),
      subscribersPerNode: [],
      ...(problems.length > 0 ? { invalid: problems.join("; ") } : {}),
    };
  } finally {
    await pool.close();
  }
}
