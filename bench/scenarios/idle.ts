/**
 * idle: subscribers connect in steps of 1,000 and then sit idle with the heartbeat on. Reports
 * what each idle subscriber costs the hub in memory (the RSS it added, over the subscribers),
 * the kernel's memory per socket, and how fast the hub took the connections.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { SOCKETS_PER_GENERATOR } from "../harness/generator-pool.ts";
import { sample } from "../harness/proc-sampler.ts";
import type { Rig, Scenario, ScenarioResult } from "../harness/scenario.ts";
import { round } from "../harness/stats.ts";
import type { Target } from "../harness/target.ts";

export interface IdleCase {
  readonly subscribers: number;
  readonly step: number;
  /** How long the subscribers sit idle before the hub's memory is read. */
  readonly idleSeconds: number;
  readonly heartbeatSeconds: number;
}

export interface IdleResult extends ScenarioResult<IdleCase> {
  /** The hub's RSS added per subscriber after the idle period (bytes). */
  readonly hubBytesPerSubscriber: number;
  /** Slab memory the kernel added per socket, both ends of each connection counted (bytes). */
  readonly kernelBytesPerSocket: number;
  /** Subscribers answered per second while ramping (connect to the first byte of the response). */
  readonly connectsPerSecond: number;
  readonly rssBaselineBytes: number;
  readonly rssIdleBytes: number;
  readonly fds: number;
  /** Subscribers that were closed during the idle period (should be 0). */
  readonly closedEarly: number;
}

const TOPIC = "https://example.com/bench/idle";

export const idle: Scenario<IdleCase, IdleResult> = {
  name: "idle",
  summary: "subscribers ramped up in steps, then idle with the heartbeat on: memory per subscriber",
  cases: (quick) => [
    quick
      ? { subscribers: 10_000, step: 1000, idleSeconds: 10, heartbeatSeconds: 5 }
      : { subscribers: 19_000, step: 1000, idleSeconds: 30, heartbeatSeconds: 10 },
  ],
  label: (c) => `${c.subscribers.toLocaleString("en")} idle subscribers`,
  hubOptions: (c) => ({ heartbeatSeconds: c.heartbeatSeconds }),
  run: runIdle,
  headline: { label: "hub bytes/subscriber", value: (r) => r.hubBytesPerSubscriber, higherIsBetter: false },
  columns: [
    { header: "kernel bytes/socket", value: (r) => r.kernelBytesPerSocket },
    { header: "connects/s", value: (r) => r.connectsPerSecond },
    {
      header: "hub RSS MiB before → idle",
      value: (r) => `${mib(r.rssBaselineBytes)} → ${mib(r.rssIdleBytes)}`,
    },
    { header: "hub fds", value: (r) => r.fds },
  ],
};

async function runIdle(target: Target, c: IdleCase, rig: Rig): Promise<IdleResult> {
  const pool = rig.startPool(Math.ceil(c.subscribers / SOCKETS_PER_GENERATOR));
  await sleep(1000); // let the hub finish starting (JIT, lazy allocations) before the baseline
  const baseline = sample(target.pid);
  const slabBefore = slabBytes();
  let rampSeconds = 0;
  for (let open = 0; open < c.subscribers; open += c.step) {
    const count = Math.min(c.step, c.subscribers - open);
    const started = performance.now();
    const opened = await pool.open(target.port, target.subscribeRequest(TOPIC), count, 0);
    if (opened.failed > 0) throw new Error(`${opened.failed} subscribers could not connect`);
    // Answered: every subscriber so far got the head of its response, and a 200 in it.
    await pool.waitForHeads(10_000);
    rampSeconds += (performance.now() - started) / 1000;
  }
  await sleep(c.idleSeconds * 1000);
  const idleSample = sample(target.pid);
  const slabAfter = slabBytes();
  const counted = await pool.report();
  const problems: string[] = [];
  if (counted.closedEarly > 0) problems.push(`${counted.closedEarly} subscribers were closed while idle`);
  if (counted.maxCpuShare > 0.9)
    problems.push(`a generator used ${round(counted.maxCpuShare * 100)}% of a core`);
  return {
    case: c,
    hubBytesPerSubscriber: round((idleSample.rssBytes - baseline.rssBytes) / c.subscribers),
    kernelBytesPerSocket: round((slabAfter - slabBefore) / (2 * c.subscribers)),
    connectsPerSecond: round(c.subscribers / rampSeconds),
    rssBaselineBytes: baseline.rssBytes,
    rssIdleBytes: idleSample.rssBytes,
    fds: idleSample.fds,
    closedEarly: counted.closedEarly,
    ...(problems.length > 0 ? { invalid: problems.join("; ") } : {}),
  };
}

/** The kernel's slab memory (sockets, their inodes and buffers' bookkeeping), from /proc/meminfo. */
function slabBytes(): number {
  const meminfo = readFileSync("/proc/meminfo", "utf8");
  return Number(/^Slab:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0) * 1024;
}

function mib(bytes: number): number {
  return round(bytes / 2 ** 20, 1);
}
