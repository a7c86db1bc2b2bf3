import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient } from "@redis/client";
import { subscriptionStateOf } from "../src/hub/subscription-event.ts";
import type { Update } from "../src/hub/update.ts";
import { createUpdate } from "../src/hub/update.ts";
import { RedisTransport } from "../src/transports/redis.ts";
import { REAP_SCRIPT } from "../src/transports/redis-scripts.ts";
import { begunSubscription } from "./fixtures/redis/begun-subscription.ts";
import { type RedisServer, startRedisServer } from "./helpers/redis-server.ts";

const NODE = fileURLToPath(new URL("./fixtures/redis/node.ts", import.meta.url));
const LEASE_MS = 300;

let redis: RedisServer;
before(async () => {
  redis = await startRedisServer();
});
after(() => redis.stop());

/** A node in a child process that begins `subscription`; resolves once it has. */
async function startNode(keyPrefix: string, subscription: string) {
  const child = spawn(process.execPath, [NODE, redis.url, keyPrefix, String(LEASE_MS), subscription], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`the node exited (${code})`)));
  });
  return child;
}

const open = (keyPrefix: string, leaseMs = LEASE_MS) =>
  RedisTransport.open({ url: redis.url, keyPrefix, retention: { maxCount: 100 }, leaseMs });

/** The subscription events a transport's listener is handed, and a wait for one (handed or to come). */
function watch(transport: RedisTransport) {
  const events: { id: string; active: boolean }[] = [];
  const handed: Update[] = [];
  const waiters: { test: (u: Update) => boolean; resolve: () => void }[] = [];
  transport.listen((u) => {
    handed.push(u);
    const state = subscriptionStateOf(u);
    if (state !== undefined) events.push(state);
    for (const waiter of waiters.filter((w) => w.test(u))) waiter.resolve();
  });
  return {
    events,
    until: (test: (u: Update) => boolean) =>
      handed.some(test) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ test, resolve })),
  };
}

describe("redis presence across nodes", () => {
  it("ends the subscriptions of a node killed without a goodbye, once, and a late node sees the others'", {
    timeout: 30_000,
  }, async () => {
    const keyPrefix = `{test-${randomUUID()}}`;
    const subscription = `urn:test:subscription:${randomUUID()}`;
    const child = await startNode(keyPrefix, subscription);
    const nodes = [await open(keyPrefix), await open(keyPrefix)];
    try {
      for (const node of nodes) {
        assert.deepEqual(
          node.activeSubscriptionsAtOpen().map((event) => subscriptionStateOf(event)),
          [{ id: subscription, active: true }],
          "a node that joins late learns the subscriptions begun before it",
        );
      }
      const watched = nodes.map(watch);
      const ended = (u: Update) => subscriptionStateOf(u)?.active === false;
      const endsSeen = watched.map((w) => w.until(ended));
      child.kill("SIGKILL");
      await once(child, "exit");
      await Promise.all(endsSeen);
      // A marker after the ends: each node has been handed everything published before it.
      const marker = createUpdate({
        topics: ["urn:test:marker"],
        data: "",
        id: undefined,
        type: undefined,
        retry: undefined,
        private: false,
      });
      const markersSeen = watched.map((w) => w.until((u) => u.id === marker.id));
      await nodes[0]!.publish(marker);
      await Promise.all(markersSeen);
      for (const w of watched) {
        assert.deepEqual(w.events, [{ id: subscription, active: false }], "ended once, by one node");
      }
      const late = await open(keyPrefix);
      assert.deepEqual(late.activeSubscriptionsAtOpen(), [], "an ended subscription is no longer active");
      await late.close();
    } finally {
      child.kill("SIGKILL");
      for (const node of nodes) await node.close();
    }
  });

  it("ends a dead node's subscriptions even when a node reaping its lease died before ending them", {
    timeout: 30_000,
  }, async () => {
    const keyPrefix = `{test-${randomUUID()}}`;
    const subscription = `urn:test:subscription:${randomUUID()}`;
    const child = await startNode(keyPrefix, subscription);
    const admin = createClient({ url: redis.url });
    await admin.connect();
    let survivor: RedisTransport | undefined;
    try {
      child.kill("SIGKILL");
      await once(child, "exit");
      // A reaper reads what the dead node left active, then dies before it ends any of it.
      const leases = `${keyPrefix}:leases`;
      const active = `${keyPrefix}:active`;
      for (let owned: unknown[] = []; owned.length === 0; ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        owned = (await admin.eval(REAP_SCRIPT, { keys: [leases, active] })) as unknown[];
      }
      // The next node that reaps ends it all the same, then forgets the lease.
      survivor = await open(keyPrefix);
      const watched = watch(survivor);
      await watched.until((u) => subscriptionStateOf(u)?.active === false);
      assert.deepEqual(watched.events, [{ id: subscription, active: false }]);
      // Only the survivor's own lease is left.
      for (let leasesHeld = 2; leasesHeld !== 1; ) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        leasesHeld = await admin.zCard(leases);
      }
    } finally {
      child.kill("SIGKILL");
      await survivor?.close();
      await admin.destroy();
    }
  });

  it("announces again the subscriptions of a node whose lease lapsed while it lived", {
    timeout: 30_000,
  }, async () => {
    const keyPrefix = `{test-${randomUUID()}}`;
    const subscription = `urn:test:subscription:${randomUUID()}`;
    // A long lease renewed seldom, beside a node that reaps often: the lapse below is reaped first.
    const partitioned = await open(keyPrefix, 3000);
    const reaper = await open(keyPrefix);
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      const watched = watch(reaper);
      const first = begunSubscription(subscription);
      await partitioned.publish(first);
      const ended = watched.until((u) => subscriptionStateOf(u)?.active === false);
      let isEnded = false;
      void ended.then(() => {
        isEnded = true;
      });
      // As if the node had been cut off past its lease: its lease's end is moved into the past
      // (again, should it renew first) until a reaper ends its subscription.
      while (!isEnded) {
        await admin.zAdd(`${keyPrefix}:leases`, { score: 0, value: partitioned.nodeId }, { condition: "XX" });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await watched.until(
        (u) => subscriptionStateOf(u)?.active === true && u.topics[0] === subscription && u.id !== first.id,
      );
      const late = await open(keyPrefix);
      const active = late.activeSubscriptionsAtOpen();
      assert.deepEqual(
        active.map((event) => subscriptionStateOf(event)),
        [{ id: subscription, active: true }],
      );
      assert.notEqual(active[0]!.id, first.id, "announced with a fresh event");
      await late.close();
    } finally {
      admin.destroy();
      await partitioned.close();
      await reaper.close();
    }
  });

  it("drops a node's lease when it closes", async () => {
    const keyPrefix = `{test-${randomUUID()}}`;
    const node = await open(keyPrefix);
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      assert.notEqual(await admin.zScore(`${keyPrefix}:leases`, node.nodeId), null, "a lease while open");
      await node.close();
      assert.equal(await admin.zScore(`${keyPrefix}:leases`, node.nodeId), null, "none once closed");
    } finally {
      admin.destroy();
    }
  });
});
