import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient } from "@redis/client";
import { ADAPTERS } from "../bench/harness/adapters.ts";
import { sample } from "../bench/harness/proc-sampler.ts";
import { type AppendFsync, startRedis } from "../bench/harness/redis-server.ts";
import { createRig } from "../bench/harness/rig.ts";
import { hubPids } from "../bench/harness/target.ts";
import { type ClusterCase, cluster } from "../bench/scenarios/cluster.ts";
import { SERVE_OPTIONS } from "../src/server/option-table.ts";

const FANOUT: ClusterCase = { kind: "fanout", nodes: 1, subscribers: 40, events: 20, inflight: 4, bytes: 64 };
const PUBLISH: ClusterCase = {
  kind: "publish",
  nodes: 1,
  subscribers: 0,
  events: 200,
  inflight: 4,
  bytes: 100,
};

/** `quicksilver serve --transport redis://…` exists in this build. */
const HAS_REDIS_TRANSPORT =
  SERVE_OPTIONS.find((option) => option.flag === "transport")?.description.includes("redis") === true;

async function runCase(c: ClusterCase) {
  const target = await ADAPTERS["quicksilver"]!.start(cluster.hubOptions!(c));
  const rig = createRig(false);
  try {
    return { result: await cluster.run(target, c, rig), pids: hubPids(target) };
  } finally {
    await rig.close();
    await target.stop();
  }
}

// The cluster figures mean something only if every delivery and publish is counted across all
// the nodes, and Redis is the one the run says it started, measured apart from the hubs.
describe("the cluster scenario", () => {
  it("counts every delivery to subscribers of one process on its memory transport", {
    timeout: 60_000,
  }, async () => {
    const { result, pids } = await runCase(FANOUT);
    assert.equal(result.invalid, undefined);
    assert.deepEqual(result.subscribersPerNode, [40]);
    assert.equal(result.latency.count, 40 * 20, "every subscriber is a probe here, and timed every event");
    assert.ok(result.perSecond > 0 && result.hubCpuMicrosPerOperation > 0);
    assert.equal(result.redis, undefined);
    assert.equal(result.redisCpuMicrosPerOperation, 0);
    assert.equal(pids.length, 1);
  });

  it("counts every publish to one process", { timeout: 60_000 }, async () => {
    const { result } = await runCase(PUBLISH);
    assert.equal(result.invalid, undefined);
    assert.equal(result.latency.count, 200);
    assert.ok(result.perSecond > 0 && result.hubCpuMicrosPerOperation > 0);
  });

  it("refuses processes that would share nothing", async () => {
    await assert.rejects(
      ADAPTERS["quicksilver"]!.start({ cluster: { nodes: 2 } }),
      /a cluster of more than one needs Redis/,
    );
  });

  for (const appendfsync of ["always", "everysec"] satisfies AppendFsync[]) {
    it(`starts its own redis-server with appendfsync ${appendfsync}, as its results state`, {
      timeout: 30_000,
    }, async () => {
      const redis = await startRedis("quicksilver", appendfsync);
      const client = createClient({ url: redis.url });
      try {
        await client.connect();
        const settings = await client.configGet("append*");
        assert.equal(settings["appendonly"], redis.config.appendonly);
        assert.equal(settings["appendfsync"], appendfsync);
        assert.ok(sample(redis.pid).rssBytes > 0, "its process is the one measured");
      } finally {
        await client.close();
        await redis.stop();
      }
      assert.equal(sample(redis.pid).rssBytes, 0, "stopped, its process gone");
    });
  }

  for (const nodes of [1, 2, 4]) {
    it(`spreads subscribers and publishes over ${nodes} process${nodes === 1 ? "" : "es"} sharing one Redis`, {
      skip: !HAS_REDIS_TRANSPORT && "no redis transport in this build",
      timeout: 120_000,
    }, async () => {
      const c: ClusterCase = { ...FANOUT, nodes, redis: "everysec" };
      const { result, pids } = await runCase(c);
      assert.equal(result.invalid, undefined);
      assert.equal(result.subscribersPerNode.length, nodes);
      assert.equal(
        result.subscribersPerNode.reduce((a, b) => a + b),
        40,
      );
      assert.equal(result.latency.count, 40 * 20);
      assert.equal(result.redis?.appendfsync, "everysec");
      assert.ok(result.redisCpuMicrosPerOperation > 0, "Redis worked for the deliveries");
      assert.equal(pids.length, nodes + 1, "the hubs and Redis");
    });
  }
});
