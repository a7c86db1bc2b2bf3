/**
 * Where the processes of a run go: the hub on core 0, its clients (generators, publisher, the
 * coordinator itself) on the other cores, so that the hub is measured and not its clients.
 */
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { GeneratorPool } from "./generator-pool.ts";
import { processTree } from "./proc-sampler.ts";
import type { Rig } from "./scenario.ts";

/** The machine's cores, read at load, before pinCoordinator shrinks what availableParallelism reports. */
export const CORES = availableParallelism();
const HUB_CORES = "0";
const CLIENT_CORES = CORES > 1 ? `1-${CORES - 1}` : "0";
/** How many client processes can each have a core of their own. */
export const CLIENT_CORE_COUNT = Math.max(1, CORES - 1);

/** Pins a process and all its threads to `cores`; a machine without taskset runs unpinned. */
function pin(pid: number, cores: string): void {
  try {
    execFileSync("taskset", ["-apc", cores, String(pid)], { stdio: "ignore" });
  } catch {
    // taskset missing or the process already gone: the figures are noisier, not wrong.
  }
}

/** Moves this process (the coordinator and the publisher it runs) to the client cores. */
export function pinCoordinator(): void {
  pin(process.pid, CLIENT_CORES);
}

/** Moves the hub's whole process tree (nginx's workers too) to the hub's core. */
export function pinHub(pid: number): void {
  for (const each of processTree(pid)) pin(each, HUB_CORES);
}

/** A rig for one case: its pools are pinned when `pinned`, and all closed by `close`. */
export function createRig(pinned: boolean): Rig & { close(): Promise<void> } {
  const pools: GeneratorPool[] = [];
  return {
    startPool(generators, sourceAddresses, protocol) {
      const pool = GeneratorPool.start(generators, sourceAddresses, protocol);
      if (pinned) for (const pid of pool.pids) pin(pid, CLIENT_CORES);
      pools.push(pool);
      return pool;
    },
    placeClient(pid) {
      if (pinned) pin(pid, CLIENT_CORES);
    },
    async close() {
      await Promise.all(pools.splice(0).map((pool) => pool.close()));
    },
  };
}
