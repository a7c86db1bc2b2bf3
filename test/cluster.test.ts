/**
 * Several `quicksilver serve` processes on one real redis-server, as behind a load balancer:
 * they must behave as one hub. Each test has a Redis of its own.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { SseEvent } from "../src/protocol/sse-parser.ts";
import { type HubProcess, sharedToken, startHubProcess } from "./helpers/hub-process.ts";
import { type RedisServer, type RedisServerOptions, startRedisServer } from "./helpers/redis-server.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";

const TOPIC = "https://example.com/cluster";
/** A short lease, so that a node killed without goodbye is found out quickly. */
const LEASE = "1s";

/** What each test started, stopped at its end whatever happened. */
class Cluster {
  readonly hubs: HubProcess[] = [];
  readonly streams: Stream[] = [];
  redis!: RedisServer;

  static async start(size: number, redisOptions: RedisServerOptions = {}): Promise<Cluster> {
    const cluster = new Cluster();
    cluster.redis = await startRedisServer(redisOptions);
    for (let i = 0; i < size; i++) await cluster.addHub();
    return cluster;
  }

  /** A hub on this cluster's Redis: over TLS, trusting its certificate, when it speaks TLS. */
  async addHub(): Promise<HubProcess> {
    const tls = this.redis.tls;
    const hub = await startHubProcess(
      ["--transport", tls?.url ?? this.redis.url, "--node-lease", LEASE, "--subscriptions"],
      tls === undefined ? {} : { NODE_EXTRA_CA_CERTS: tls.ca },
    );
    this.hubs.push(hub);
    return hub;
  }

  async subscribe(hub: HubProcess, parameters: [string, string][], lastEventId?: string): Promise<Stream> {
    const token = await sharedToken({ subscribe: ["*"] });
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (lastEventId !== undefined) headers["Last-Event-ID"] = lastEventId;
    const stream = await openStream(subscribeUrl(hub.hubUrl, parameters), { headers });
    assert.equal(stream.status, 200);
    this.streams.push(stream);
    return stream;
  }

  async close(): Promise<void> {
    for (const stream of this.streams) stream.close();
    await Promise.all(this.hubs.map((hub) => hub.stop()));
    await this.redis.stop();
  }
}

async function publish(
  hub: HubProcess,
  data: string,
  options: { topic?: string; private?: boolean; id?: string } = {},
): Promise<{ status: number; id: string }> {
  const token = await sharedToken({ publish: ["*"] });
  const fields: [string, string][] = [
    ["topic", options.topic ?? TOPIC],
    ["data", data],
  ];
  if (options.private) fields.push(["private", "on"]);
  if (options.id !== undefined) fields.push(["id", options.id]);
  const response = await fetch(hub.hubUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  return { status: response.status, id: await response.text() };
}

function ids(events: readonly SseEvent[]): string[] {
  return events.map((event) => event.id);
}

/** The subscription documents a presence stream received, in order. */
function documents(stream: Stream): { id: string; active: boolean; subscriber: string; match: string }[] {
  return stream.events.filter((event) => event.type === "mercure").map((event) => JSON.parse(event.data));
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 20_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("hubs sharing one Redis behave as one hub", () => {
  const clusters: Cluster[] = [];
  after(async () => {
    await Promise.all(clusters.map((cluster) => cluster.close()));
  });
  async function cluster(size: number, redisOptions: RedisServerOptions = {}): Promise<Cluster> {
    const started = await Cluster.start(size, redisOptions);
    clusters.push(started);
    return started;
  }

  it("delivers a publish on any hub to the subscribers of every hub, with the same ids in the same order", async () => {
    const c = await cluster(3);
    const streams = await Promise.all(c.hubs.map((hub) => c.subscribe(hub, [["match", TOPIC]])));
    const published: string[] = [];
    for (let i = 0; i < 9; i++) {
      const result = await publish(c.hubs[i % 3]!, `update ${i}`);
      assert.equal(result.status, 200);
      published.push(result.id);
    }
    for (const stream of streams) {
      const events = await stream.waitForEvents(9);
      assert.deepEqual(ids(events), published);
      assert.deepEqual(
        events.map((event) => event.data),
        published.map((_, i) => `update ${i}`),
      );
    }
  });

  it("speaks TLS to Redis (rediss://), and will not start on a certificate it cannot trust", async () => {
    const c = await cluster(2, { tls: true });
    const stream = await c.subscribe(c.hubs[1]!, [["match", TOPIC]]);
    const published = await publish(c.hubs[0]!, "over TLS");
    assert.equal(published.status, 200);
    assert.deepEqual(ids(await stream.waitForEvents(1)), [published.id]);
    await assert.rejects(
      startHubProcess(["--transport", c.redis.tls!.url]),
      /certificate/i,
      "without NODE_EXTRA_CA_CERTS, the self-signed certificate is refused and the start stops, saying so",
    );
  });

  it("delivers a private update to the subscribers of other hubs that may read it, and to no one else", async () => {
    const c = await cluster(2);
    const allowed = await c.subscribe(c.hubs[1]!, [["match", TOPIC]]);
    const anonymousToken = await sharedToken({ subscribe: ["https://example.com/other"] });
    const denied = await openStream(subscribeUrl(c.hubs[1]!.hubUrl, [["match", TOPIC]]), {
      headers: { Authorization: `Bearer ${anonymousToken}` },
    });
    c.streams.push(denied);
    const secret = await publish(c.hubs[0]!, "secret", { private: true });
    const open = await publish(c.hubs[0]!, "public");
    assert.deepEqual(ids(await allowed.waitForEvents(2)), [secret.id, open.id]);
    assert.deepEqual(ids(await denied.waitForEvents(1)), [open.id]);
  });

  it("gives a subscriber that moves to another hub with its cursor exactly what it missed", async () => {
    const c = await cluster(3);
    const first = await c.subscribe(c.hubs[0]!, [["match", TOPIC]]);
    const before: string[] = [];
    for (let i = 0; i < 3; i++) before.push((await publish(c.hubs[1]!, `before ${i}`)).id);
    await first.waitForEvents(3);
    first.close();
    const missed: string[] = [];
    for (let i = 0; i < 4; i++) missed.push((await publish(c.hubs[i % 2]!, `missed ${i}`)).id);

    const moved = await c.subscribe(c.hubs[2]!, [["match", TOPIC]], before[2]);
    assert.equal(moved.headers["mercure-last-event-id"] ?? moved.headers["last-event-id"], before[2]);
    const live = (await publish(c.hubs[0]!, "live")).id;
    assert.deepEqual(ids(await moved.waitForEvents(5)), [...missed, live]);
  });

  it("lists the subscriptions of every hub in any hub's subscription API, and tells every hub's subscribers", async () => {
    const c = await cluster(3);
    const presence = await c.subscribe(c.hubs[2]!, [["match", "*"]]);
    await c.subscribe(c.hubs[0]!, [["match", "https://example.com/on-a"]]);
    await c.subscribe(c.hubs[1]!, [["match", "https://example.com/on-b"]]);
    await waitFor(
      () => documents(presence).filter((doc) => doc.match.startsWith("https://example.com/on-")).length === 2,
      "the subscription events of both other hubs",
    );
    for (const hub of c.hubs) {
      const token = await sharedToken({ subscribe: ["*"] });
      const response = await fetch(`${hub.hubUrl}/subscriptions`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 200);
      const listed = ((await response.json()) as { subscriptions: { match: string }[] }).subscriptions.map(
        (doc) => doc.match,
      );
      assert.ok(
        listed.includes("https://example.com/on-a"),
        `${hub.hubUrl} lists the subscription on the first hub`,
      );
      assert.ok(
        listed.includes("https://example.com/on-b"),
        `${hub.hubUrl} lists the subscription on the second hub`,
      );
    }
  });

  it("ends the subscriptions of a hub killed without goodbye, everywhere, within its lease", async () => {
    const c = await cluster(2);
    const presence = await c.subscribe(c.hubs[1]!, [["match", "*"]]);
    const doomed = await c.subscribe(c.hubs[0]!, [["match", "https://example.com/doomed"]]);
    await waitFor(
      () => documents(presence).some((doc) => doc.match === "https://example.com/doomed" && doc.active),
      "the subscription to begin",
    );
    await c.hubs[0]!.kill();
    await doomed.ended;
    await waitFor(
      () => documents(presence).some((doc) => doc.match === "https://example.com/doomed" && !doc.active),
      "the dead hub's subscription to end",
    );
    const token = await sharedToken({ subscribe: ["*"] });
    const response = await fetch(`${c.hubs[1]!.hubUrl}/subscriptions`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const listed = ((await response.json()) as { subscriptions: { match: string }[] }).subscriptions;
    assert.ok(!listed.some((doc) => doc.match === "https://example.com/doomed"));
  });

  it("loses and repeats nothing when Redis is killed and restarted under a publisher that retries what was refused", async () => {
    const c = await cluster(2, { appendOnly: true });
    const streams = await Promise.all(c.hubs.map((hub) => c.subscribe(hub, [["match", TOPIC]])));
    let streamsEnded = 0;
    for (const stream of streams) stream.ended.then(() => streamsEnded++);
    // A publisher as the client SDK is one: it chooses each id, and retries a refused publish with
    // that id until it is acknowledged. A publish refused as Redis dies may have been stored all the
    // same (its answer was what got lost): the retry must then be acknowledged, not stored again.
    const acknowledged: string[] = [];
    let refusals = 0;
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i++) {
        const id = `urn:example:update-${i}`;
        for (let attempt = 0; ; attempt++) {
          const result = await publish(c.hubs[(i + attempt) % 2]!, `update ${i}`, { id });
          if (result.status === 200) {
            assert.equal(result.id, id);
            acknowledged.push(id);
            break;
          }
          assert.equal(result.status, 503);
          assert.match(result.id, /store_unavailable/);
          refusals++;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })();
    await waitFor(() => acknowledged.length >= 20, "some acknowledged publishes");
    await c.redis.kill();
    await waitFor(() => refusals >= 3, "publishes refused while Redis is down");
    await c.redis.restart();
    const countAtRestart = acknowledged.length;
    await waitFor(() => acknowledged.length >= countAtRestart + 20, "publishes acknowledged again");
    publishing = false;
    await publisher;
    assert.equal(streamsEnded, 0, "subscribers are not dropped while Redis is away");

    for (const stream of streams) {
      await waitFor(() => stream.events.length >= acknowledged.length, "every acknowledged update");
      // Exactly once each, in the order they were published.
      assert.deepEqual(ids(stream.events), acknowledged);
    }
  });
});
