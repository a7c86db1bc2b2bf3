import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { createClient } from "@redis/client";
import { Hub } from "../src/hub/hub.ts";
import type { StreamSink } from "../src/hub/stream-sink.ts";
import { TransportError } from "../src/hub/transport.ts";
import { createUpdate, type Update } from "../src/hub/update.ts";
import { compileMatcher } from "../src/matching/compile.ts";
import { RedisTransport } from "../src/transports/redis.ts";
import type { HistoryRetention } from "../src/transports/sqlite.ts";
import { type RedisServer, startRedisServer } from "./helpers/redis-server.ts";

let redis: RedisServer;
before(async () => {
  redis = await startRedisServer({ appendOnly: true });
});
after(() => redis.stop());

function update(topic: string, data = topic): Update {
  return createUpdate({
    topics: [topic],
    data,
    id: undefined,
    type: undefined,
    retry: undefined,
    private: false,
  });
}

const open = (retention: HistoryRetention, keyPrefix = `{test-${randomUUID()}}`) =>
  RedisTransport.open({ url: redis.url, keyPrefix, retention, trimIntervalMs: 10 });

async function kept(transport: RedisTransport): Promise<string[]> {
  const ids: string[] = [];
  for await (const entry of (await transport.replay("earliest")).entries) ids.push(entry.update.id);
  return ids;
}

/** Polls until `done` holds: retention in the background is waited for, never timed. */
async function until(done: () => Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe("redis history retention, as sqlite's", () => {
  it("ends a replay that retention overtook, rather than leave a gap", async () => {
    const transport = await open({ maxCount: 300 });
    for (let i = 0; i < 300; i++) await transport.publish(update(`first-${i}`));
    const entries = (await transport.replay("earliest")).entries as AsyncIterable<unknown>;
    const iterator = entries[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).done, false, "the replay began");
    // Its subscriber waits; meanwhile every update it has yet to read is dropped.
    for (let i = 0; i < 300; i++) await transport.publish(update(`second-${i}`));
    await assert.rejects(async () => {
      for (;;) if ((await iterator.next()).done) return;
    }, TransportError);
    await transport.close();
  });

  it("trims by size, oldest first, and counts the bytes it keeps", async () => {
    const transport = await open({ maxCount: 1000, maxBytes: 2000 });
    const updates = Array.from({ length: 40 }, (_, i) => update(`t${i}`, "x".repeat(100)));
    for (const u of updates) await transport.publish(u);
    const ids = await kept(transport);
    assert.ok(ids.length > 0 && ids.length < 40, `${ids.length} kept`);
    assert.deepEqual(
      ids,
      updates.slice(40 - ids.length).map((u) => u.id),
    );
    await transport.close();
  });

  it("trims by age", async () => {
    const transport = await open({ maxCount: 1000, maxAgeMs: 1 });
    const old = update("old");
    await transport.publish(old);
    const recent = update("recent");
    await transport.publish(recent);
    // The newest update is always kept; the older one goes once a millisecond of Redis's clock passed.
    await until(async () => (await kept(transport)).length === 1);
    assert.deepEqual(await kept(transport), [recent.id]);
    assert.equal((await transport.replay(old.id)).anchor, "earliest");
    await transport.close();
  });

  it("trims a history over a lowered count limit, keeping the index consistent", async () => {
    const keyPrefix = `{test-${randomUUID()}}`;
    const big = await open({ maxCount: 100 }, keyPrefix);
    const updates = Array.from({ length: 30 }, (_, i) => update(`t${i}`));
    for (const u of updates) await big.publish(u);
    await big.close();
    const small = await open({ maxCount: 10 }, keyPrefix);
    await until(async () => (await kept(small)).length === 10);
    assert.deepEqual(
      await kept(small),
      updates.slice(20).map((u) => u.id),
    );
    assert.equal((await small.replay(updates[19]!.id)).anchor, "earliest", "a dropped id is unknown");
    assert.equal((await small.replay(updates[20]!.id)).anchor, updates[20]!.id);
    const admin = createClient({ url: redis.url });
    await admin.connect();
    assert.equal(await admin.hLen(`${keyPrefix}:update-ids`), 10, "the index holds only kept ids");
    admin.destroy();
    await small.close();
  });
});

/** A subscriber stream of the hub's, recording the ids it is sent and whether it was ended. */
class RecordingSink implements StreamSink {
  readonly ids: string[] = [];
  ended = false;
  #waiting: { id: string; resolve: () => void } | undefined;

  received(id: string): Promise<void> {
    if (this.ids.includes(id)) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiting = { id, resolve };
    });
  }

  start(): void {}

  write(frames: readonly Buffer[]): boolean {
    for (const frame of frames) {
      const id = /^id: (.*)$/m.exec(frame.toString())?.[1];
      if (id === undefined) continue;
      this.ids.push(id);
      if (id === this.#waiting?.id) this.#waiting.resolve();
    }
    return true;
  }

  onDrain(): void {}
  onClose(): void {}
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.ended = true;
  }
}

describe("a hub over redis while Redis restarts", () => {
  it("keeps its subscribers' streams open and delivers again once Redis is back", {
    timeout: 60_000,
  }, async () => {
    const transport = await open({ maxCount: 100 });
    const hub = new Hub(transport, {
      heartbeatMs: 60_000,
      writeTimeoutMs: 60_000,
      maxLifetimeMs: 3_600_000,
      maxQueueBytes: 1 << 20,
    });
    const topic = "https://example.com/restart";
    const fields = {
      topics: [topic],
      data: "x",
      id: undefined,
      type: undefined,
      retry: undefined,
      private: false,
    };
    const sink = new RecordingSink();
    assert.ok(
      await hub.subscribe({
        matchers: [
          compileMatcher("exact", topic, "https://hub.example/.well-known/mercure", {
            maxPatternLength: 100,
          }),
        ],
        grants: undefined,
        cursor: undefined,
        sink,
      }),
    );
    try {
      const before = await hub.publish(fields);
      await sink.received(before.id);
      await redis.kill();
      await assert.rejects(hub.publish(fields), { code: "store_unavailable" });
      await redis.restart();
      let back: Update | undefined;
      while (back === undefined) {
        back = await hub.publish(fields).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return undefined;
        });
      }
      await sink.received(back.id);
      assert.equal(sink.ended, false, "the stream stayed open");
      assert.deepEqual(sink.ids, [before.id, back.id]);
    } finally {
      await hub.close();
    }
  });
});
