import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ADAPTERS } from "../bench/harness/adapters.ts";
import { createRig } from "../bench/harness/rig.ts";
import { fanout } from "../bench/scenarios/fanout.ts";

// The harness must count right before its figures mean anything: through each hub's adapter,
// every subscriber of a small fan-out is counted exactly once per event, as each hub delivers it.
describe("the benchmark harness", () => {
  for (const [name, adapter] of Object.entries(ADAPTERS)) {
    it(`counts every delivery of a fan-out through the ${name} adapter`, async () => {
      const target = await adapter.start();
      const rig = createRig(false);
      try {
        const result = await fanout.run(target, { subscribers: 40, events: 25, inflight: 4, bytes: 64 }, rig);
        assert.equal(result.complete, true, result.invalid);
        assert.deepEqual(result.perSubscriber, { min: 25, max: 25 });
      } finally {
        await rig.close();
        await target.stop();
      }
    });
  }
});
