import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ADAPTERS } from "../bench/harness/adapters.ts";
import { sample } from "../bench/harness/proc-sampler.ts";
import { createRig } from "../bench/harness/rig.ts";
import { churn } from "../bench/scenarios/churn.ts";

// The churn figures mean something only if the churner counts right: through each hub's adapter,
// every connect it starts is either a success (a 200 head, the stream held and closed by the
// client) or an error of some kind, the steady subscribers keep their streams, and the hub's
// descriptors come back once the churning sockets are gone.
describe("the churn scenario", () => {
  for (const [name, adapter] of Object.entries(ADAPTERS)) {
    it(`connects, holds and closes subscribers through the ${name} adapter`, async () => {
      const target = await adapter.start();
      const rig = createRig(false);
      try {
        const result = await churn.run(
          target,
          {
            steady: 50,
            rate: 100,
            seconds: 1,
            holdMs: 20,
            settleBeforeMs: 100,
            settleAfterMs: 0,
            churners: 1,
          },
          rig,
        );
        assert.equal(result.succeeded, result.attempted - result.errors);
        assert.ok(result.succeeded > 0, "no connect succeeded");
        assert.equal(result.errors, 0, JSON.stringify(result.errorExamples));
        assert.equal(result.timeToHeaders.count, result.succeeded);
        assert.ok(result.timeToHeadersMin > 0, `a time to headers of ${result.timeToHeadersMin} ms`);
        assert.equal(result.steadyGotEvent, true, result.invalid);
        // The hub may still be closing the last churned sockets: wait for it, do not time it.
        let fds = sample(target.pid).fds;
        for (let i = 0; i < 50 && fds > result.baseline.fds + 10; i++) {
          await sleep(100);
          fds = sample(target.pid).fds;
        }
        assert.ok(fds <= result.baseline.fds + 10, `${fds} descriptors after, ${result.baseline.fds} before`);
      } finally {
        await rig.close();
        await target.stop();
      }
    });
  }
});
