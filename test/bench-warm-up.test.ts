import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { channelRequests } from "../bench/harness/channel-requests.ts";
import { Publisher } from "../bench/harness/publisher.ts";
import { createRig } from "../bench/harness/rig.ts";
import type { Target } from "../bench/harness/target.ts";

const TOPIC = "https://example.com/bench/warm-up";

/** When the slow hub answers subscriber `i` (in the order they arrive), and when it registers it. */
interface Slowness {
  /** Delay before the response head (the subscriber is registered with it, unless…). */
  readonly headMs: (i: number) => number;
  /** … a further delay between the head and the registration. */
  readonly registerMs?: (i: number) => number;
  /** A status other than 200 refuses the subscriber. */
  readonly status?: number;
}

/**
 * A hub slower than ours at taking subscribers in, shaped like the naive hub (`/sub?topic=`,
 * `/pub?topic=`, the body as the data): it delays each response head, and may register a
 * stream only a while after its head. It records what it did, in order.
 */
async function startSlowHub(slowness: Slowness) {
  const registered = new Set<ServerResponse>();
  const log: string[] = [];
  let arrived = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET") {
      const i = arrived++;
      setTimeout(() => {
        res.writeHead(slowness.status ?? 200, { "Content-Type": "text/event-stream" });
        res.flushHeaders();
        log.push("head");
        if (slowness.status !== undefined) return void res.end();
        setTimeout(() => {
          registered.add(res);
          res.on("close", () => registered.delete(res));
        }, slowness.registerMs?.(i) ?? 0);
      }, slowness.headMs(i));
      return;
    }
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      log.push(body.startsWith("w=") ? "warm-up" : "publish");
      for (const subscriber of registered) subscriber.write(`data: ${body}\n\n`);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const target: Target = {
    name: "slow",
    port,
    pid: process.pid,
    ...channelRequests(port),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return { target, log };
}

/**
 * Opens `count` subscribers over two generator processes, warms the hub up, then publishes
 * `events` and resolves with what the generators counted of those.
 */
async function warmUpThenPublish(target: Target, count: number, events: number) {
  const rig = createRig(false);
  const publisher = new Publisher(target, 1);
  try {
    const pool = rig.startPool(2);
    const opened = await pool.open(target.port, target.subscribeRequest(TOPIC), count, 0);
    assert.equal(opened.connected, count);
    await pool.warmUp(publisher, TOPIC, 32);
    const run = await publisher.publish(TOPIC, events, 32, 1);
    assert.equal(run.failed, 0);
    assert.equal(await pool.complete(events, 10_000), true, "every subscriber got every event");
    return await pool.report();
  } finally {
    publisher.close();
    await rig.close();
  }
}

// A hub that takes its subscribers in more slowly than ours must be measured, not failed: the
// warm-up waits until it has answered every subscriber, and until it has registered every one.
describe("the benchmark warm-up", () => {
  it("waits for every subscriber's response head, from every generator, before publishing", async (t) => {
    // Heads spread over 600 ms after the connects, the last ones well after the first.
    const { target, log } = await startSlowHub({ headMs: (i) => (i % 7) * 100 });
    t.after(() => target.stop());
    const counted = await warmUpThenPublish(target, 40, 5);
    assert.equal(log.indexOf("warm-up"), 40, "the first publish came after the 40 heads");
    assert.deepEqual(log.filter((entry) => entry === "warm-up").length, 1);
    assert.equal(counted.sockets, 40);
    assert.deepEqual([counted.minPerSocket, counted.maxPerSocket], [5, 5]);
  });

  it("publishes warm-up events until every subscriber has seen the latest, and counts none of them", async (t) => {
    // Every head at once, but half the subscribers registered only after the first warm-up
    // event went out: they can see the second one only.
    const { target, log } = await startSlowHub({ headMs: () => 0, registerMs: (i) => (i % 2) * 800 });
    t.after(() => target.stop());
    const counted = await warmUpThenPublish(target, 30, 5);
    const warmUps = log.filter((entry) => entry === "warm-up").length;
    assert.ok(warmUps >= 2, `${warmUps} warm-up events for subscribers registered late`);
    assert.equal(counted.sockets, 30);
    assert.deepEqual([counted.minPerSocket, counted.maxPerSocket], [5, 5]);
  });

  it("fails at once, with the status line, when the hub refuses the subscribers", async (t) => {
    const { target, log } = await startSlowHub({ headMs: () => 0, status: 400 });
    t.after(() => target.stop());
    await assert.rejects(warmUpThenPublish(target, 10, 1), {
      message: /^the hub refused \d+ of 10 subscribers: HTTP\/1\.1 400 Bad Request$/,
    });
    assert.equal(log.includes("warm-up"), false, "nothing was published");
  });
});
