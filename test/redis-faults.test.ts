import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { describe, it } from "node:test";
import { createClient } from "@redis/client";
import { TransportError } from "../src/hub/transport.ts";
import { createUpdate, type Update } from "../src/hub/update.ts";
import { RedisTransport } from "../src/transports/redis.ts";
import { startRedisServer } from "./helpers/redis-server.ts";

function update(topic: string): Update {
  return createUpdate({
    topics: [topic],
    data: topic,
    id: undefined,
    type: undefined,
    retry: undefined,
    private: false,
  });
}

const open = (url: string, keyPrefix = `{test-${randomUUID()}}`) =>
  RedisTransport.open({ url, keyPrefix, retention: { maxCount: 10_000 } });

/** Resolves once `seen` holds `id`. */
function seenBy(transport: RedisTransport): { ids: string[]; reached(id: string): Promise<void> } {
  const ids: string[] = [];
  let waiting: { id: string; resolve: () => void } | undefined;
  transport.listen((u) => {
    ids.push(u.id);
    if (u.id === waiting?.id) waiting.resolve();
  });
  return {
    ids,
    reached: (id) =>
      ids.includes(id) ? Promise.resolve() : new Promise((resolve) => (waiting = { id, resolve })),
  };
}

describe("redis transport faults", () => {
  it("refuses to start on an unreachable Redis, naming what to fix", async () => {
    const redis = await startRedisServer();
    const url = redis.url;
    await redis.stop();
    await assert.rejects(open(url), (error: Error) => {
      assert.ok(error instanceof TransportError);
      assert.match(
        error.message,
        /cannot connect to Redis at redis:\/\/127\.0\.0\.1:\d+: the connection was refused/,
      );
      return true;
    });
  });

  it("refuses to start with a wrong password, and never names the password", async () => {
    const redis = await startRedisServer({ password: "right-secret" });
    try {
      const wrong = redis.url.replace("right-secret", "wrong-secret");
      await assert.rejects(open(wrong), (error: Error) => {
        assert.ok(error instanceof TransportError);
        assert.match(error.message, /the user or password was refused/);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      });
      const withoutPassword = redis.url.replace(":right-secret@", "");
      await assert.rejects(open(withoutPassword), /the user or password was refused/);
    } finally {
      await redis.stop();
    }
  });

  it("refuses to start on a server that is not Redis", { timeout: 30_000 }, async () => {
    const sockets = new Set<Socket>();
    const answersHttp = createServer((socket) => {
      sockets.add(socket);
      socket.on("data", () => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
      socket.on("error", () => {});
    });
    const saysNothing = createServer((socket) => {
      sockets.add(socket);
      socket.on("data", () => {});
      socket.on("error", () => {});
    });
    const servers = [answersHttp, saysNothing];
    for (const server of servers)
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const urlOf = (server: Server) => `redis://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await assert.rejects(open(urlOf(answersHttp)), /does not speak the Redis protocol/);
      await assert.rejects(open(urlOf(saysNothing)), /did not answer as Redis within/);
    } finally {
      for (const socket of sockets) socket.destroy();
      for (const server of servers) await new Promise((resolve) => server.close(resolve));
    }
  });

  it("refuses a URL that is not a Redis one", async () => {
    await assert.rejects(open("http://127.0.0.1:6379"), /must start with redis:\/\/ or rediss:\/\//);
    await assert.rejects(open("redis://127.0.0.1:6379/zero"), /database must be a number/);
  });

  it("delivers every acknowledged update once across a kill -9 and restart of Redis, and no refused one", {
    timeout: 60_000,
  }, async () => {
    const redis = await startRedisServer({ appendOnly: true });
    const keyPrefix = `{test-${randomUUID()}}`;
    const publisher = await open(redis.url, keyPrefix);
    const listener = await open(redis.url, keyPrefix);
    const seen = seenBy(listener);
    const acknowledged: string[] = [];
    const refused: string[] = [];
    const publish = async (topic: string) => {
      const u = update(topic);
      try {
        await publisher.publish(u);
        acknowledged.push(u.id);
        return true;
      } catch (error) {
        assert.ok(error instanceof TransportError, String(error));
        refused.push(u.id);
        return false;
      }
    };
    try {
      for (let i = 0; i < 20; i++) await publish(`before-${i}`);
      await redis.kill();
      for (let i = 0; i < 5; i++) await publish(`down-${i}`);
      assert.equal(refused.length, 5, "publishes to a Redis that is down are refused");
      assert.equal(publisher.health().healthy, false);
      await redis.restart();
      // Until the client has reconnected, publishes are refused; then they are stored again.
      for (let i = 0; acknowledged.length < 40; i++) {
        // Paced: a refusal is immediate, and a loop of them would starve the reconnection.
        if (!(await publish(`after-${i}`))) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await seen.reached(acknowledged.at(-1)!);
      assert.deepEqual(seen.ids, acknowledged, "every acknowledged update once, in order, and nothing else");
      assert.equal(publisher.health().healthy, true);
    } finally {
      await publisher.close();
      await listener.close();
      await redis.stop();
    }
  });

  it("refuses publishes and reports unhealthy while Redis is out of memory", {
    timeout: 30_000,
  }, async () => {
    const redis = await startRedisServer({ settings: { "maxmemory-policy": "noeviction" } });
    const admin = createClient({ url: redis.url });
    await admin.connect();
    const transport = await open(redis.url);
    try {
      await transport.publish(update("fits"));
      await admin.configSet("maxmemory", "1");
      await assert.rejects(transport.publish(update("too much")), (error: Error) => {
        assert.ok(error instanceof TransportError);
        assert.match(error.message, /out of memory/);
        return true;
      });
      const health = transport.health();
      assert.equal(health.healthy, false);
      assert.match(health.healthy ? "" : health.reason, /out of memory/);
      await admin.configSet("maxmemory", "0");
      await transport.publish(update("fits again"));
      assert.deepEqual(transport.health(), { healthy: true });
    } finally {
      await transport.close();
      admin.destroy();
      await redis.stop();
    }
  });

  it("refuses a publish Redis is too slow to store, and stores again once it answers", {
    timeout: 30_000,
  }, async () => {
    const redis = await startRedisServer();
    const admin = createClient({ url: redis.url });
    await admin.connect();
    const transport = await open(redis.url);
    const seen = seenBy(transport);
    try {
      // Redis holds every write for longer than the hub waits for an answer.
      await admin.sendCommand(["CLIENT", "PAUSE", "8000", "WRITE"]);
      const slow = update("slow");
      await assert.rejects(transport.publish(slow), (error: Error) => {
        assert.ok(error instanceof TransportError);
        assert.match(error.message, /did not answer in time/);
        return true;
      });
      await admin.sendCommand(["CLIENT", "UNPAUSE"]);
      const after = update("after");
      await transport.publish(after);
      await seen.reached(after.id);
      // A publish refused for a timeout may still have been stored once Redis caught up (it was
      // never acknowledged, and is delivered at most once); the ones acknowledged always are.
      assert.equal(seen.ids.filter((id) => id === after.id).length, 1);
      assert.ok(seen.ids.filter((id) => id === slow.id).length <= 1);
    } finally {
      await transport.close();
      admin.destroy();
      await redis.stop();
    }
  });
});
