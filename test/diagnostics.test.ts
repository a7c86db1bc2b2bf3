import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { once } from "node:events";
import { get } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { after, before, describe, it } from "node:test";
import {
  CHANNELS,
  type ConnectionClosedMessage,
  type ConnectionOpenedMessage,
  type PublishAcknowledgedMessage,
  type ReplaySentMessage,
  type RequestRefusedMessage,
  type TokenRefusedMessage,
  type TransportFailedMessage,
  type UpdateDispatchedMessage,
} from "../src/hub/diagnostics.ts";
import { startRedisServer } from "./helpers/redis-server.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

/** Every message published to one channel while the test listens. */
class Recorded<T> {
  readonly messages: T[] = [];
  readonly #name: string;
  #waiters: (() => void)[] = [];
  readonly #listener = (message: unknown) => {
    this.messages.push(message as T);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  };

  constructor(name: string) {
    this.#name = name;
    subscribe(name, this.#listener);
  }

  /** Resolves with the first message, from `from` on, for which `predicate` holds. */
  async waitFor(predicate: (message: T) => boolean, from = 0): Promise<T> {
    for (;;) {
      const found = this.messages.slice(from).find(predicate);
      if (found !== undefined) return found;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  stop(): void {
    unsubscribe(this.#name, this.#listener);
  }
}

describe("diagnostics channels", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let token: string;
  let opened: Recorded<ConnectionOpenedMessage>;
  let closed: Recorded<ConnectionClosedMessage>;
  let dispatched: Recorded<UpdateDispatchedMessage>;
  const streams: Stream[] = [];

  before(async () => {
    opened = new Recorded(CHANNELS.connectionOpened);
    closed = new Recorded(CHANNELS.connectionClosed);
    dispatched = new Recorded(CHANNELS.updateDispatched);
    hub = await startTestHub({ anonymous: true });
    token = await hub.token({ publish: ["*"] });
  });
  after(async () => {
    for (const stream of streams) stream.close();
    await hub.close();
    for (const recorded of [opened, closed, dispatched]) recorded.stop();
  });

  async function stream(parameters: [string, string][]): Promise<Stream> {
    const open = await openStream(subscribeUrl(hub.hubUrl, parameters));
    streams.push(open);
    assert.equal(open.status, 200);
    return open;
  }

  async function published(topic: string, fields: Record<string, string> = {}): Promise<string> {
    const result = await publish(hub, { topic, data: "d", ...fields }, { token });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  it("reports a stream opened and closed, with its subscriber, matchers and close reason", async () => {
    const from = opened.messages.length;
    const watcher = await stream([
      ["match", "https://example.com/opened/a"],
      ["match", "https://example.com/opened/b"],
    ]);
    const message = await opened.waitFor(() => true, from);
    assert.match(message.subscriber, /^urn:uuid:/);
    assert.deepEqual(message, { subscriber: message.subscriber, matchers: 2, replayed: false });
    watcher.close();
    const end = await closed.waitFor((m) => m.subscriber === message.subscriber);
    assert.deepEqual(end, { subscriber: message.subscriber, reason: "client_left" });
  });

  it("says whether a stream was sent a replay", async () => {
    const topic = "https://example.com/replayed";
    const cursor = await published(topic);
    const from = opened.messages.length;
    await stream([
      ["match", topic],
      ["last_event_id", cursor],
    ]);
    const message = await opened.waitFor(() => true, from);
    assert.deepEqual(message, { subscriber: message.subscriber, matchers: 1, replayed: true });
  });

  it("reports each update dispatched with the number of streams it was offered to, each once", async () => {
    const topic = "https://example.com/dispatched/1";
    // Two streams select the topic, one of them through two matchers; one stream selects another.
    const twice = await stream([
      ["match", topic],
      ["match_urlpattern", "https://example.com/dispatched/:id"],
    ]);
    await stream([["match", topic]]);
    await stream([["match", "https://example.com/elsewhere"]]);
    const id = await published(topic);
    const message = await dispatched.waitFor((m) => m.id === id);
    assert.deepEqual(message, { id, kind: "update", private: false, matched: 2 });
    assert.equal((await twice.waitForEvents(1)).length, 1, "sent once to the stream selecting it twice");

    const nobody = await published("https://example.com/nobody");
    assert.equal((await dispatched.waitFor((m) => m.id === nobody)).matched, 0);
  });

  it("counts only the streams that may read a private update", async () => {
    const topic = "https://example.com/dispatched/private";
    await stream([["match", topic]]); // anonymous: no grant on the topic
    const id = await published(topic, { private: "on" });
    assert.deepEqual(await dispatched.waitFor((m) => m.id === id), {
      id,
      kind: "update",
      private: true,
      matched: 0,
    });
  });

  it("reports the streams a shutdown closes", async () => {
    const own = await startTestHub({ anonymous: true });
    const from = opened.messages.length;
    const open = await openStream(subscribeUrl(own.hubUrl, [["match", "https://example.com/shutdown"]]));
    const message = await opened.waitFor(() => true, from);
    await own.close();
    assert.deepEqual(await closed.waitFor((m) => m.subscriber === message.subscriber), {
      subscriber: message.subscriber,
      reason: "shutdown",
    });
    open.close();
  });
});

describe("diagnostics channels of requests, replays and the transport", { timeout: 60_000 }, () => {
  it("reports a publish acknowledged with the time it took", async () => {
    const acknowledged = new Recorded<PublishAcknowledgedMessage>(CHANNELS.publishAcknowledged);
    const hub = await startTestHub();
    try {
      const result = await publish(
        hub,
        { topic: "https://example.com/ack", data: "d" },
        {
          token: await hub.token({ publish: ["*"] }),
        },
      );
      assert.equal(result.status, 200);
      const message = await acknowledged.waitFor((m) => m.id === result.body);
      assert.equal(typeof message.durationMs, "number");
      assert.ok(message.durationMs >= 0);
    } finally {
      acknowledged.stop();
      await hub.close();
    }
  });

  it("reports how many updates a replay sent", async () => {
    const replays = new Recorded<ReplaySentMessage>(CHANNELS.replaySent);
    const opened = new Recorded<ConnectionOpenedMessage>(CHANNELS.connectionOpened);
    const hub = await startTestHub({ anonymous: true });
    try {
      const token = await hub.token({ publish: ["*"] });
      const topic = "https://example.com/replay-sent";
      const ids = [];
      for (const data of ["a", "b", "c"]) ids.push((await publish(hub, { topic, data }, { token })).body);
      await publish(hub, { topic: "https://example.com/not-selected", data: "x" }, { token });
      const stream = await openStream(
        subscribeUrl(hub.hubUrl, [
          ["match", topic],
          ["last_event_id", ids[0]!],
        ]),
      );
      const { subscriber } = await opened.waitFor(() => true);
      assert.deepEqual(await replays.waitFor((m) => m.subscriber === subscriber), { subscriber, updates: 2 });
      stream.close();
    } finally {
      replays.stop();
      opened.stop();
      await hub.close();
    }
  });

  it("reports a token refused with its reason, and every refusal with its code and limit", async () => {
    const tokens = new Recorded<TokenRefusedMessage>(CHANNELS.tokenRefused);
    const refused = new Recorded<RequestRefusedMessage>(CHANNELS.requestRefused);
    const hub = await startTestHub({ anonymous: true, "max-connections": "1" });
    try {
      const forged = await hub.token({ publish: ["*"], key: "another-secret-that-is-long-enough-for-hs256" });
      const answer = await publish(hub, { topic: "https://example.com/t", data: "d" }, { token: forged });
      assert.equal(answer.status, 401);
      assert.deepEqual(await tokens.waitFor(() => true), {
        role: "publisher",
        reason: "verification_failed",
      });
      assert.deepEqual(await refused.waitFor((m) => m.code === "token_invalid"), {
        code: "token_invalid",
        status: 401,
      });

      assert.equal((await fetch(new URL("/nothing-here", hub.origin))).status, 404);
      assert.deepEqual(await refused.waitFor((m) => m.code === "not_found"), {
        code: "not_found",
        status: 404,
      });

      const first = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/t"]]));
      const second = await fetch(subscribeUrl(hub.hubUrl, [["match", "https://example.com/t"]]));
      assert.equal(second.status, 429);
      await second.body?.cancel();
      assert.deepEqual(await refused.waitFor((m) => m.code === "too_many_connections"), {
        code: "too_many_connections",
        status: 429,
        limit: "maxConnections",
      });
      first.close();
    } finally {
      tokens.stop();
      refused.stop();
      await hub.close();
    }
  });

  it("reports a socket refused past a socket limit with the limit's name", async () => {
    const refused = new Recorded<RequestRefusedMessage>(CHANNELS.requestRefused);
    const hub = await startTestHub({ anonymous: true, "max-sockets": "2", "max-sockets-per-client": "1" });
    const port = (hub.server.address() as AddressInfo).port;
    const idle = [connect({ host: "127.0.0.1", port })];
    try {
      idle[0]!.on("error", () => {});
      await once(hub.server, "connection");
      assert.equal((await fetch(new URL("/nothing-here", hub.origin))).status, 429);
      assert.deepEqual(await refused.waitFor(() => true), {
        code: "too_many_connections",
        status: 429,
        limit: "maxSocketsPerClient",
      });
      // Another client takes the last socket: a third is past max-sockets.
      idle.push(connect({ host: "127.0.0.1", port, localAddress: "127.0.0.2" }).on("error", () => {}));
      await once(hub.server, "connection");
      assert.equal(await statusFrom(port, "127.0.0.3"), 503);
      assert.deepEqual(await refused.waitFor((m) => m.status === 503), {
        code: "hub_at_capacity",
        status: 503,
        limit: "maxSockets",
      });
    } finally {
      for (const socket of idle) socket.destroy();
      refused.stop();
      await hub.close();
    }
  });

  it("reports the transport's failures to store and to replay", async () => {
    const failed = new Recorded<TransportFailedMessage>(CHANNELS.transportFailed);
    const redis = await startRedisServer();
    const hub = await startTestHub({ anonymous: true, transport: redis.url });
    try {
      const token = await hub.token({ publish: ["*"] });
      const topic = "https://example.com/transport-failed";
      const cursor = (await publish(hub, { topic, data: "a" }, { token })).body;
      await redis.kill();
      assert.equal((await publish(hub, { topic, data: "b" }, { token })).status, 503);
      assert.deepEqual(await failed.waitFor((m) => m.operation === "publish"), {
        operation: "publish",
        code: "transport_failed",
      });
      const replay = await fetch(
        subscribeUrl(hub.hubUrl, [
          ["match", topic],
          ["last_event_id", cursor],
        ]),
      );
      assert.equal(replay.status, 503);
      await replay.body?.cancel();
      assert.deepEqual(await failed.waitFor((m) => m.operation === "replay"), {
        operation: "replay",
        code: "transport_failed",
      });
    } finally {
      failed.stop();
      await hub.close();
      await redis.stop();
    }
  });
});

/** The status of `GET /nothing-here` sent from `localAddress` on a connection of its own. */
function statusFrom(port: number, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path: "/nothing-here", localAddress, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
  });
}
