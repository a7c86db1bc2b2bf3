import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ADAPTERS } from "../bench/harness/adapters.ts";
import { sample } from "../bench/harness/proc-sampler.ts";
import { createRig } from "../bench/harness/rig.ts";
import { type H2FanoutCase, h2fanout } from "../bench/scenarios/h2fanout.ts";

async function runCase(c: H2FanoutCase) {
  const target = await ADAPTERS["quicksilver"]!.start(h2fanout.hubOptions!(c));
  const rig = createRig(false);
  try {
    return await h2fanout.run(target, c, rig);
  } finally {
    await rig.close();
    await target.stop();
  }
}

// The HTTP/2 figures mean something only if the HTTP/2 subscribers are counted as the HTTP/1.1
// ones are: every event to every stream, once, over sessions that each carry several streams.
describe("the h2fanout scenario", () => {
  it("counts every delivery over HTTP/1.1 and over HTTP/2 against one hub", { timeout: 60_000 }, async () => {
    // 45 streams at 20 a session: two full sessions and one of 5.
    const c: H2FanoutCase = { subscribers: 45, events: 30, inflight: 4, bytes: 64, streamsPerSession: 20 };
    const result = await runCase(c);
    for (const [protocol, run] of [
      ["HTTP/1.1", result.http1],
      ["HTTP/2", result.h2],
    ] as const) {
      assert.equal(run.complete, true, `${protocol}: ${run.invalid}`);
      assert.deepEqual(run.perSubscriber, { min: 30, max: 30 }, protocol);
      assert.equal(
        run.deliver.count,
        45 * 30,
        `${protocol}: every subscriber is a probe here, and timed every event`,
      );
      assert.ok(run.deliveriesPerSecond > 0 && run.hubCpuMicrosPerDelivery > 0, protocol);
      assert.ok(run.generatorCpuShare > 0, protocol);
    }
    assert.equal(result.invalid, undefined);
    assert.equal(
      result.ratio.deliveriesPerSecond,
      Math.round((result.h2.deliveriesPerSecond / result.http1.deliveriesPerSecond) * 100) / 100,
    );
  });

  it("carries many subscribers on one HTTP/2 session, each answered 200", { timeout: 30_000 }, async () => {
    const target = await ADAPTERS["quicksilver"]!.start({ h2c: true });
    const rig = createRig(false);
    try {
      const before = sample(target.pid).fds;
      const pool = rig.startPool(1, undefined, { name: "h2", streamsPerSession: 20 });
      const opened = await pool.open(target.port, target.subscribeRequest("https://example.com/a"), 45, 0);
      assert.equal(opened.connected, 45);
      await pool.waitForHeads();
      const sessions = sample(target.pid).fds - before;
      // 3 sessions (20 + 20 + 5 streams); 45 descriptors would mean a connection per subscriber.
      assert.ok(sessions >= 3 && sessions < 10, `${sessions} descriptors for 45 subscribers on 3 sessions`);
    } finally {
      await rig.close();
      await target.stop();
    }
  });

  it("runs only against Quicksilver, which serves h2c", () => {
    assert.deepEqual(h2fanout.hubs?.names, ["quicksilver"]);
    assert.deepEqual(h2fanout.hubOptions!(h2fanout.cases(true)[0]!), { h2c: true });
  });
});
