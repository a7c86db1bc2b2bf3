import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startRedisServer } from "./helpers/redis-server.ts";
import { startTestHub, type TestHub } from "./helpers/test-hub.ts";

// The health checks over real sockets: /livez answers while the process can, /readyz and /healthz
// only while the transport is usable and the hub is not shutting down, each saying why not.

interface Health {
  readonly status: number;
  readonly cacheControl: string | null;
  readonly body: { status: string; checks?: { transport: string; shutdown: boolean }; store?: string };
}

async function probe(hub: TestHub, path: string): Promise<Health> {
  const response = await fetch(new URL(path, hub.origin));
  return {
    status: response.status,
    cacheControl: response.headers.get("cache-control"),
    body: (await response.json()) as Health["body"],
  };
}

/** Probes /readyz until it answers `status`: a bounded number of times, a little apart. */
async function readyzUntil(hub: TestHub, status: number): Promise<Health> {
  let last: Health | undefined;
  for (let attempt = 0; attempt < 300; attempt++) {
    last = await probe(hub, "/readyz");
    if (last.status === status) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`/readyz never answered ${status}: last ${JSON.stringify(last)}`);
}

describe("health checks", () => {
  it("answers ready and live, uncached, with the checks that passed", async () => {
    const hub = await startTestHub({ anonymous: true });
    try {
      const live = await probe(hub, "/livez");
      assert.equal(live.status, 200);
      assert.deepEqual(live.body, { status: "ok" });
      assert.equal(live.cacheControl, "no-store");
      const ready = await probe(hub, "/readyz");
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { status: "ok", checks: { transport: "ok", shutdown: false } });
      assert.equal(ready.cacheControl, "no-store");
      const health = await probe(hub, "/healthz");
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: "ok", streams: 0 });
      assert.equal(health.cacheControl, "no-store");
      const head = await fetch(new URL("/readyz", hub.origin), { method: "HEAD" });
      assert.equal(head.status, 200);
    } finally {
      await hub.close();
    }
  });

  it("is live but not ready while the hub shuts down", async () => {
    const hub = await startTestHub({ anonymous: true });
    try {
      // The hub itself closes; its server still listens, as while it drains its connections.
      await hub.hub.close();
      const ready = await probe(hub, "/readyz");
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body, { status: "unavailable", checks: { transport: "ok", shutdown: true } });
      assert.equal((await probe(hub, "/healthz")).status, 503);
      const live = await probe(hub, "/livez");
      assert.equal(live.status, 200);
    } finally {
      await hub.close();
    }
  });

  it("is not ready while its Redis is lost, and ready again once it is back", {
    timeout: 60_000,
  }, async () => {
    const redis = await startRedisServer();
    const hub = await startTestHub({ anonymous: true, transport: redis.url });
    try {
      assert.equal((await probe(hub, "/readyz")).status, 200);
      await redis.kill();
      const lost = await readyzUntil(hub, 503);
      assert.equal(lost.body.status, "unavailable");
      assert.equal(lost.body.checks?.shutdown, false);
      assert.match(lost.body.checks?.transport ?? "", /^store_unavailable: /);
      const health = await probe(hub, "/healthz");
      assert.equal(health.status, 503);
      assert.equal(health.body.status, "store_unavailable");
      assert.equal((await probe(hub, "/livez")).status, 200);
      await redis.restart();
      const back = await readyzUntil(hub, 200);
      assert.deepEqual(back.body, { status: "ok", checks: { transport: "ok", shutdown: false } });
    } finally {
      await hub.close();
      await redis.stop();
    }
  });
});
