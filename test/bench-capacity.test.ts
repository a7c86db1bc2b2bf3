import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { ADAPTERS } from "../bench/harness/adapters.ts";
import { processTree, sampleAll } from "../bench/harness/proc-sampler.ts";
import { createRig } from "../bench/harness/rig.ts";
import type { Rig } from "../bench/harness/scenario.ts";
import type { HubStartOptions, Target } from "../bench/harness/target.ts";
import { type CapacityCase, capacity, capacityCase } from "../bench/scenarios/capacity.ts";
import { SERVE_OPTIONS } from "../src/server/option-table.ts";

/** 200 subscribers over 2 generators and 2 source addresses, 3 broadcasts, nothing waited for. */
const TINY: CapacityCase = {
  ...capacityCase(200, undefined),
  generators: 2,
  sourceAddresses: 2,
  step: 50,
  idleSeconds: 0,
  broadcasts: 3,
  spacingMs: 50,
};

/** `quicksilver serve --workers` exists in this build. */
const HAS_WORKERS = SERVE_OPTIONS.some((option) => option.flag === "workers");

async function withHub<T>(
  options: HubStartOptions,
  body: (target: Target, rig: Rig) => Promise<T>,
  hub = "quicksilver",
): Promise<T> {
  const target = await ADAPTERS[hub]!.start(options);
  const rig = createRig(false);
  try {
    return await body(target, rig);
  } finally {
    await rig.close();
    await target.stop();
  }
}

// The capacity figures mean something only if every subscriber is counted: each connected, bound
// to the source addresses it was given, and timed for every broadcast; the memory read from the
// hub's real processes, its workers with it.
describe("the capacity scenario", () => {
  it("counts and times every subscriber of every broadcast, one process", { timeout: 120_000 }, async () => {
    const result = await withHub(capacity.hubOptions!(TINY), (target, rig) =>
      capacity.run(target, TINY, rig),
    );
    assert.equal(result.connected, 200);
    // Each generator bound its subscribers to its own one of the two addresses, 100 each.
    assert.deepEqual(result.bySourceAddress, { "127.0.0.2": 100, "127.0.0.3": 100 });
    assert.equal(result.broadcasts.length, 3);
    for (const broadcast of result.broadcasts) {
      assert.equal(broadcast.deliver.count, 200, "every subscriber timed the broadcast");
      assert.ok(broadcast.deliver.p50 > 0 && broadcast.deliver.p50 <= broadcast.deliver.max);
      assert.ok(broadcast.hubCpuMs > 0, "the hub worked to deliver it");
    }
    assert.equal(result.deliver.count, 3 * 200);
    assert.equal(result.p99WithinSecond, result.deliver.p99 <= 1000);
    // Memory from the one real process: its RSS before and after, over the subscribers.
    assert.equal(result.hubProcesses, 1);
    assert.ok(result.rssBeforeBytes > 0 && result.rssAfterBytes > 0);
    assert.equal(
      result.hubBytesPerSubscriber,
      Math.round((result.rssAfterBytes - result.rssBeforeBytes) / 200),
    );
    assert.ok(result.fds >= 200, `${result.fds} descriptors for 200 subscribers`);
  });

  it("fails the case, saying how many connected, when subscribers cannot connect", {
    timeout: 60_000,
  }, async () => {
    const target = await ADAPTERS["quicksilver"]!.start();
    await target.stop(); // its port now refuses every connection
    const rig = createRig(false);
    try {
      await assert.rejects(capacity.run(target, TINY, rig), /^Error: only 0 of 200 subscribers connected/);
    } finally {
      await rig.close();
    }
  });

  it("sums the memory of a hub's whole process tree, its children found in /proc", {
    timeout: 30_000,
  }, async () => {
    // A parent that starts a child, as a primary starts its workers.
    const idle = "setInterval(() => {}, 1000)";
    const script = `require("node:child_process").spawn(process.execPath, ["-e", ${JSON.stringify(idle)}], { stdio: "ignore" }); ${idle}`;
    const parent = spawn(process.execPath, ["-e", script], { stdio: "ignore" });
    let tree = [parent.pid!];
    try {
      while (tree.length < 2) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        tree = processTree(parent.pid!);
      }
      const whole = sampleAll([parent.pid!]);
      const child = sampleAll([tree[1]!]);
      assert.equal(whole.processes, 2);
      assert.equal(child.processes, 1);
      assert.ok(child.rssBytes > 0 && whole.rssBytes > child.rssBytes, "the parent's and the child's");
    } finally {
      for (const pid of tree.reverse()) process.kill(pid, "SIGKILL");
    }
  });

  it("runs the hub with enough workers for the subscribers by default, or as told", () => {
    const [full] = capacity.cases(false);
    assert.equal(full!.subscribers, 100_000);
    assert.equal(full!.generators, 7, "no generator over its 15,000 sockets");
    assert.deepEqual(capacity.hubOptions!(full!), { workers: 6 }, "at most 18,000 subscribers a worker");
    const [quick] = capacity.cases(true);
    assert.deepEqual(capacity.hubOptions!(quick!), { workers: "auto" });
    const [single] = capacity.cases(false, { subscribers: 19_000, workers: 0 });
    assert.deepEqual(capacity.hubOptions!(single!), {}, "0: one process, without --workers");
  });

  it("sums the memory of nginx's master and its two workers, through the nchan adapter", {
    timeout: 120_000,
  }, async () => {
    const c = { ...TINY, workers: 2 };
    const result = await withHub(
      capacity.hubOptions!(c),
      (target, rig) => capacity.run(target, c, rig),
      "nchan",
    );
    assert.equal(result.hubProcesses, 3, "a master and two workers");
    assert.equal(result.connected, 200);
    assert.equal(result.deliver.count, 3 * 200, "every subscriber, on either worker, timed every broadcast");
  });

  it("counts a primary and its workers", {
    skip: !HAS_WORKERS && "no --workers in this build",
    timeout: 120_000,
  }, async () => {
    const c = { ...TINY, workers: 2 };
    const result = await withHub(capacity.hubOptions!(c), (target, rig) => capacity.run(target, c, rig));
    assert.equal(result.hubProcesses, 3, "a primary and two workers");
    assert.equal(result.deliver.count, 3 * 200);
  });
});
