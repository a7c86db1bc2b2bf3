import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ADAPTERS } from "../bench/harness/adapters.ts";
import { createRig } from "../bench/harness/rig.ts";
import type { Rig } from "../bench/harness/scenario.ts";
import type { HubStartOptions, Target } from "../bench/harness/target.ts";
import { fanout } from "../bench/scenarios/fanout.ts";
import { idle } from "../bench/scenarios/idle.ts";
import { latency } from "../bench/scenarios/latency.ts";
import { routing } from "../bench/scenarios/routing.ts";

/** Runs `body` against a fresh hub of `adapter`, with an unpinned rig, and stops both after. */
async function withHub<T>(
  name: string,
  options: HubStartOptions,
  body: (target: Target, rig: Rig) => Promise<T>,
): Promise<T> {
  const target = await ADAPTERS[name]!.start(options);
  const rig = createRig(false);
  try {
    return await body(target, rig);
  } finally {
    await rig.close();
    await target.stop();
  }
}

// The harness must count right before its figures mean anything: through each hub's adapter,
// every scenario, in a tiny form, sees every event it should, once.
describe("the benchmark harness", () => {
  for (const name of Object.keys(ADAPTERS)) {
    it(`counts every delivery of a fan-out through the ${name} adapter`, async () => {
      const result = await withHub(name, {}, (target, rig) =>
        fanout.run(target, { subscribers: 40, events: 25, inflight: 4, bytes: 64 }, rig),
      );
      assert.equal(result.complete, true, result.invalid);
      assert.deepEqual(result.perSubscriber, { min: 25, max: 25 });
      assert.equal(result.deliver.count > 0, true, "the probes read publish times");
    });

    it(`measures paced events end to end through the ${name} adapter`, async () => {
      const c = { subscribers: 20, perSecond: 20, seconds: 1, bytes: 64 };
      const result = await withHub(name, {}, (target, rig) => latency.run(target, c, rig));
      assert.equal(result.invalid, undefined);
      assert.deepEqual(result.perSubscriber, { min: 20, max: 20 });
      assert.equal(result.deliver.count, 20 * 20, "every probe saw every event");
      assert.ok(result.deliver.p50 > 0 && result.deliver.p50 <= result.deliver.max);
    });

    it(`holds idle subscribers through the ${name} adapter, heartbeat on`, async () => {
      const c = { subscribers: 30, step: 10, idleSeconds: 1, heartbeatSeconds: 1 };
      const result = await withHub(name, idle.hubOptions!(c), (target, rig) => idle.run(target, c, rig));
      assert.equal(result.invalid, undefined);
      assert.equal(result.closedEarly, 0);
      assert.ok(result.fds >= 30, `${result.fds} descriptors for 30 subscribers`);
      assert.ok(result.connectsPerSecond > 0);
    });

    it(`routes each publish to its one subscriber through the ${name} adapter`, async () => {
      const c = { exactSubscribers: 30, patternSubscribers: 5, topics: 20, perSecond: 100 };
      const result = await withHub(name, {}, (target, rig) => routing.run(target, c, rig));
      // Invalid would mean a publish reached no subscriber, two, or a pattern subscriber.
      assert.equal(result.invalid, undefined);
      assert.equal(result.patternSubscribers, name === "quicksilver" ? 5 : 0);
      assert.equal(result.warm.publish.count, 20);
    });
  }
});
