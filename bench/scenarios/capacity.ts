/**
 * capacity: as many subscribers as the box holds (100,000 by default) on one hub, served by worker
 * processes behind one port, all on one topic. Reports the hub's memory per subscriber (all its
 * processes), then a few broadcasts of one update each, spaced out, and how long every single
 * subscriber took to receive each: the target is p99 within 1 s.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { GeneratorPool } from "../harness/generator-pool.ts";
import { SOCKETS_PER_GENERATOR, SOURCE_ADDRESSES } from "../harness/generator-pool.ts";
import { sampleAll } from "../harness/proc-sampler.ts";
import { Publisher } from "../harness/publisher.ts";
import { CLIENT_CORE_COUNT, CORES } from "../harness/rig.ts";
import type { CaseParameters, Rig, Scenario, ScenarioResult } from "../harness/scenario.ts";
import { type LatencySummary, latencySummary, round } from "../harness/stats.ts";
import { hubPids, type Target } from "../harness/target.ts";

export interface CapacityCase {
  readonly subscribers: number;
  /** The hub's `--workers`; undefined: one process, without the flag. */
  readonly workers?: number | "auto";
  readonly generators: number;
  /** Loopback source addresses the generators share (~28k ephemeral ports each). */
  readonly sourceAddresses: number;
  /** Subscribers connected at a time, each step once the previous one was answered. */
  readonly step: number;
  /** How long the subscribers sit idle before the hub's memory is read. */
  readonly idleSeconds: number;
  readonly broadcasts: number;
  /** The pause between broadcasts, once every subscriber received the previous one. */
  readonly spacingMs: number;
  readonly bytes: number;
}

export interface Broadcast {
  /** Publish-to-receive latency of every subscriber (ms). */
  readonly deliver: LatencySummary;
  /** The hub's CPU time from the publish until the last subscriber received it (ms). */
  readonly hubCpuMs: number;
  /**
   * The generators' CPU time over the same span, as a share of the client cores: near 1, they
   * were still reading when the hub had long written, and the latencies are partly theirs.
   */
  readonly clientCoreShare: number;
}

export interface CapacityResult extends ScenarioResult<CapacityCase> {
  readonly connected: number;
  /** The subscribers, by the loopback source address they were bound to. */
  readonly bySourceAddress: Record<string, number>;
  /** The hub's processes (primary and workers), counted from /proc. */
  readonly hubProcesses: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly hubBytesPerSubscriber: number;
  readonly fds: number;
  readonly connectsPerSecond: number;
  readonly broadcasts: readonly Broadcast[];
  /** Over all broadcasts and all subscribers. */
  readonly deliver: LatencySummary;
  readonly p99WithinSecond: boolean;
  /** The highest of the broadcasts' clientCoreShare. */
  readonly clientCoreShare: number;
}

const TOPIC = "https://example.com/bench/capacity";
/** Subscribers one worker is given at most, clear of its 20,000 descriptors. */
const SUBSCRIBERS_PER_WORKER = 18_000;
/** How long a broadcast has to reach every subscriber before the case fails. */
const BROADCAST_TIMEOUT_MS = 60_000;
/** The target: every subscriber has a broadcast within this, at p99. */
const TARGET_P99_MS = 1000;

/** Enough workers that each stays under its descriptor limit, and at least one per core. */
export function defaultWorkers(subscribers: number): number | "auto" {
  const needed = Math.ceil(subscribers / SUBSCRIBERS_PER_WORKER);
  return needed > CORES ? needed : "auto";
}

export function capacityCase(subscribers: number, workers: number | "auto" | undefined): CapacityCase {
  return {
    subscribers,
    ...(workers === undefined ? {} : { workers }),
    generators: Math.ceil(subscribers / SOCKETS_PER_GENERATOR),
    sourceAddresses: SOURCE_ADDRESSES.length,
    step: 2000,
    idleSeconds: 10,
    broadcasts: 5,
    spacingMs: 2000,
    bytes: 100,
  };
}

function cases(quick: boolean, parameters: CaseParameters = {}): CapacityCase[] {
  const subscribers = parameters.subscribers ?? (quick ? 10_000 : 100_000);
  const workers = parameters.workers ?? defaultWorkers(subscribers);
  return [capacityCase(subscribers, workers === 0 ? undefined : workers)];
}

export const capacity: Scenario<CapacityCase, CapacityResult> = {
  name: "capacity",
  summary: "as many subscribers as the box holds, broadcasts reaching every one: memory and p99",
  cases,
  hubs: {
    names: ["quicksilver", "nchan"],
    reason:
      "it needs a hub that spreads its subscribers over several processes behind one port, each under the descriptor limit (20,000); the naive hub is one process",
  },
  label: (c) =>
    `${c.subscribers.toLocaleString("en")} subscribers, ${c.workers === undefined ? "one process" : `--workers ${c.workers}`}`,
  hubOptions: (c) => (c.workers === undefined ? {} : { workers: c.workers }),
  run: runCapacity,
  headline: { label: "deliver p99 ms", value: (r) => r.deliver.p99, higherIsBetter: false },
  columns: [
    { header: "connected", value: (r) => r.connected },
    { header: "p99 ≤ 1 s", value: (r) => (r.p99WithinSecond ? "yes" : "no") },
    {
      header: "p99 ms each broadcast",
      value: (r) => r.broadcasts.map((b) => round(b.deliver.p99)).join(" / "),
    },
    { header: "p50 ms", value: (r) => r.deliver.p50 },
    { header: "max ms", value: (r) => r.deliver.max },
    { header: "hub bytes/subscriber", value: (r) => r.hubBytesPerSubscriber },
    {
      header: "hub RSS MiB before → after",
      value: (r) =>
        `${mib(r.rssBeforeBytes)} → ${mib(r.rssAfterBytes)} (${r.hubProcesses} process${r.hubProcesses === 1 ? "" : "es"})`,
    },
    { header: "hub CPU ms/broadcast", value: (r) => round(average(r.broadcasts.map((b) => b.hubCpuMs)), 1) },
    { header: "client cores busy", value: (r) => `${round(r.clientCoreShare * 100)}%` },
    { header: "connects/s", value: (r) => r.connectsPerSecond },
  ],
  latency: (r) => r.deliver,
};

async function runCapacity(target: Target, c: CapacityCase, rig: Rig): Promise<CapacityResult> {
  const pool = rig.startPool(c.generators, c.sourceAddresses);
  const pids = hubPids(target);
  await sleep(1000); // let the hub (and its workers) finish starting before the baseline
  const before = sampleAll(pids);
  const { bySourceAddress, seconds } = await connect(pool, target, c);
  await sleep(c.idleSeconds * 1000);
  const after = sampleAll(pids);

  const publisher = new Publisher(target, 1);
  try {
    await pool.warmUp(publisher, TOPIC, c.bytes);
    const broadcasts: Broadcast[] = [];
    const latencies: number[] = [];
    for (let i = 0; i < c.broadcasts; i++) {
      if (i > 0) await sleep(c.spacingMs);
      const { broadcast, received } = await broadcastOnce(pool, publisher, pids, c);
      broadcasts.push(broadcast);
      for (const latency of received) latencies.push(latency);
    }
    const deliver = latencySummary(latencies);
    const busiest = Math.max(...broadcasts.map((b) => b.clientCoreShare));
    return {
      case: c,
      connected: c.subscribers,
      bySourceAddress,
      hubProcesses: after.processes,
      rssBeforeBytes: before.rssBytes,
      rssAfterBytes: after.rssBytes,
      hubBytesPerSubscriber: round((after.rssBytes - before.rssBytes) / c.subscribers),
      fds: after.fds,
      connectsPerSecond: round(c.subscribers / seconds),
      broadcasts,
      deliver,
      p99WithinSecond: deliver.p99 <= TARGET_P99_MS,
      clientCoreShare: busiest,
      // Saturated clients make the latencies an upper bound: one within the target still meets
      // it, one above it may be the clients' own and proves nothing about the hub.
      ...(busiest > 0.9 && deliver.p99 > TARGET_P99_MS
        ? {
            invalid: `the generators kept the client cores ${round(busiest * 100)}% busy during a broadcast: a p99 above the target may be their reading`,
          }
        : {}),
    };
  } finally {
    publisher.close();
  }
}

/**
 * Connects every subscriber, `step` at a time, each step once the previous one was answered.
 * One that fails to connect or is refused fails the case, saying how many did connect.
 */
async function connect(
  pool: GeneratorPool,
  target: Target,
  c: CapacityCase,
): Promise<{ bySourceAddress: Record<string, number>; seconds: number }> {
  const bySourceAddress: Record<string, number> = {};
  const started = performance.now();
  let connected = 0;
  for (let open = 0; open < c.subscribers; open += c.step) {
    const count = Math.min(c.step, c.subscribers - open);
    try {
      // Every subscriber reads the publish time, so that latency is known for all of them.
      const opened = await pool.open(target.port, target.subscribeRequest(TOPIC), count, count);
      connected += count - opened.failed;
      for (const [address, n] of Object.entries(opened.bySourceAddress))
        bySourceAddress[address] = (bySourceAddress[address] ?? 0) + n;
      if (opened.failed > 0) throw new Error(`${opened.failed} could not connect`);
      await pool.waitForHeads();
    } catch (error) {
      throw new Error(
        `only ${connected.toLocaleString("en")} of ${c.subscribers.toLocaleString("en")} subscribers connected: ${(error as Error).message}`,
      );
    }
  }
  return { bySourceAddress, seconds: (performance.now() - started) / 1000 };
}

/** Publishes one update and waits until every subscriber has it; their latencies, all of them. */
async function broadcastOnce(
  pool: GeneratorPool,
  publisher: Publisher,
  pids: readonly number[],
  c: CapacityCase,
): Promise<{ broadcast: Broadcast; received: number[] }> {
  const hubBefore = sampleAll(pids);
  const clientsBefore = sampleAll(pool.pids);
  const started = performance.now();
  const run = await publisher.publish(TOPIC, 1, c.bytes, 1);
  if (run.failed > 0) throw new Error("a broadcast's publish failed");
  const complete = await pool.complete(1, BROADCAST_TIMEOUT_MS);
  const span = (performance.now() - started) * 1000;
  const hubAfter = sampleAll(pids);
  const clientsAfter = sampleAll(pool.pids);
  const counted = await pool.report(true);
  if (!complete || counted.minPerSocket !== 1 || counted.maxPerSocket !== 1)
    throw new Error(
      `a broadcast reached its subscribers ${counted.minPerSocket}–${counted.maxPerSocket} times, not once each`,
    );
  if (counted.latencies.length !== c.subscribers)
    throw new Error(`${counted.latencies.length} of ${c.subscribers} subscribers read the publish time`);
  return {
    broadcast: {
      deliver: latencySummary(counted.latencies),
      hubCpuMs: round((hubAfter.cpuMicros - hubBefore.cpuMicros) / 1000, 2),
      clientCoreShare: round(
        (clientsAfter.cpuMicros - clientsBefore.cpuMicros) / (span * CLIENT_CORE_COUNT),
        2,
      ),
    },
    received: counted.latencies,
  };
}

function average(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

function mib(bytes: number): number {
  return round(bytes / 2 ** 20, 1);
}
