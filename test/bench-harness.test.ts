import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ADAPTERS } from "../bench/harness/adapters.ts";
import { GeneratorPool } from "../bench/harness/generator-pool.ts";
import { fanout } from "../bench/scenarios/fanout.ts";

// The harness must count right before its figures mean anything: through each hub's adapter,
// every subscriber of a small fan-out is counted exactly once per event, as each hub delivers it.
describe("the benchmark harness", () => {
  for (const [name, adapter] of Object.entries(ADAPTERS)) {
    it(`counts every delivery of a fan-out through the ${name} adapter`, async () => {
      const target = await adapter.start();
      const pool = GeneratorPool.start(2);
      try {
        const result = await fanout(target, pool, { subscribers: 40, events: 25, inflight: 4, bytes: 64 });
        assert.equal(result.complete, true, result.invalid);
        assert.deepEqual(result.perSubscriber, { min: 25, max: 25 });
      } finally {
        await pool.close();
        await target.stop();
      }
    });
  }
});
