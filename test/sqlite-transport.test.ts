import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { type ReplayEntry, TransportError } from "../src/hub/transport.ts";
import { createUpdate, type Update } from "../src/hub/update.ts";
import { transportContract } from "../src/testing/index.ts";
import { SqliteTransport } from "../src/transports/sqlite.ts";

const directory = mkdtempSync(join(tmpdir(), "quicksilver-sqlite-"));
after(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(directory, `history-${++files}.db`);

transportContract(
  "sqlite",
  (historySize, subscriptionHistorySize) =>
    new SqliteTransport({ path: freshPath(), retention: { maxCount: historySize }, subscriptionHistorySize }),
);

function update(topic: string, fields: Partial<Parameters<typeof createUpdate>[0]> = {}): Update {
  return createUpdate({
    topics: [topic],
    data: `data of ${topic}`,
    id: undefined,
    type: undefined,
    retry: undefined,
    private: false,
    ...fields,
  });
}

/** Every field of an update, the frame as text, for deepEqual. */
function comparable({ id, topics, data, type, retry, private: isPrivate, frame }: Update) {
  return { id, topics, data, type, retry, private: isPrivate, frame: frame.toString() };
}

async function replayedEntries(transport: SqliteTransport, cursor: string): Promise<ReplayEntry[]> {
  const entries: ReplayEntry[] = [];
  for await (const entry of (await transport.replay(cursor)).entries) entries.push(entry);
  return entries;
}

async function replayed(transport: SqliteTransport, cursor: string): Promise<Update[]> {
  return (await replayedEntries(transport, cursor)).map((entry) => entry.update);
}

describe("sqlite transport", () => {
  it("takes a repeat committed in the same transaction as the update it repeats, and one after a restart", async () => {
    const path = freshPath();
    const first = new SqliteTransport({ path, retention: { maxCount: 100 } });
    const handed: string[] = [];
    first.listen((u) => handed.push(u.id));
    const fields = { id: "urn:example:retried", type: "t", retry: "5", topics: ["a", "alt"] };
    // Published in one turn: one batch, one transaction.
    const [original, repeat, changed] = await Promise.all([
      first.publish(update("a", fields)),
      first.publish(update("a", fields)),
      first.publish(update("a", { ...fields, data: "other data" })),
    ]);
    assert.equal(repeat, original);
    assert.notEqual(changed, original);
    assert.deepEqual(handed, [fields.id, fields.id], "the original and the changed update, once each");
    await first.close();
    const second = new SqliteTransport({ path, retention: { maxCount: 100 } });
    // The newest kept occurrence is the changed one: it is what a repeat now is.
    assert.equal(await second.publish(update("a", { ...fields, data: "other data" })), changed);
    assert.equal((await replayed(second, "earliest")).length, 2);
    await second.close();
  });

  it("keeps history and positions across a restart", async () => {
    const path = freshPath();
    const first = new SqliteTransport({ path, retention: { maxCount: 100 } });
    const published = [
      update("a", { private: true, type: "t", retry: "5", topics: ["a", "alt"] }),
      update("b", { data: "line 1\nline 2" }),
    ];
    const positions: string[] = [];
    for (const u of published) positions.push(await first.publish(u));
    await first.close();

    const second = new SqliteTransport({ path, retention: { maxCount: 100 } });
    const back = await replayedEntries(second, "earliest");
    assert.deepEqual(
      back.map((entry) => comparable(entry.update)),
      published.map(comparable),
    );
    assert.deepEqual(
      back.map((entry) => entry.position),
      positions,
      "the positions are those given at publish",
    );
    const next = update("c");
    const nextPosition = await second.publish(next);
    assert.ok(
      second.comparePositions(nextPosition, positions[1]!) > 0,
      "positions keep increasing after a restart",
    );
    await second.close();
  });

  it("commits publishes of one turn together and acknowledges them in order", async () => {
    const transport = new SqliteTransport({ path: freshPath(), retention: { maxCount: 1000 } });
    const seen: string[] = [];
    transport.listen((u) => seen.push(u.id));
    const updates = Array.from({ length: 50 }, (_, i) => update(`t${i}`));
    const acknowledged: string[] = [];
    await Promise.all(updates.map((u) => transport.publish(u).then(() => acknowledged.push(u.id))));
    const ids = updates.map((u) => u.id);
    assert.deepEqual(seen, ids);
    assert.deepEqual(acknowledged, ids);
    assert.deepEqual(
      (await replayed(transport, "earliest")).map((u) => u.id),
      ids,
    );
    await transport.close();
  });

  it("commits a burst of large updates in several transactions, a turn of the event loop apart", async () => {
    const transport = new SqliteTransport({ path: freshPath(), retention: { maxCount: 1000 } });
    const seen: string[] = [];
    transport.listen((u) => seen.push(u.id));
    // 48 MiB published in one turn: one transaction would hold every other request until its end.
    const data = "b".repeat(1024 * 1024);
    const updates = Array.from({ length: 48 }, (_, i) => update(`large${i}`, { data }));
    const published = Promise.all(updates.map((u) => transport.publish(u)));
    await new Promise(setImmediate);
    assert.ok(seen.length > 0 && seen.length < updates.length, `${seen.length} of 48 committed in one turn`);
    await published;
    assert.deepEqual(
      seen,
      updates.map((u) => u.id),
    );
    await transport.close();
  });

  it("replays in pages: a long history streams in order from any cursor", async () => {
    const transport = new SqliteTransport({ path: freshPath(), retention: { maxCount: 10_000 } });
    const updates = Array.from({ length: 1000 }, (_, i) => update(`t${i}`));
    await Promise.all(updates.map((u) => transport.publish(u)));
    assert.deepEqual(
      (await replayed(transport, updates[399]!.id)).map((u) => u.id),
      updates.slice(400).map((u) => u.id),
    );
    await transport.close();
  });

  it("trims by size, oldest first", async () => {
    const transport = new SqliteTransport({
      path: freshPath(),
      retention: { maxCount: 1000, maxBytes: 2000 },
    });
    const updates = Array.from({ length: 40 }, (_, i) => update(`t${i}`, { data: "x".repeat(100) }));
    for (const u of updates) await transport.publish(u);
    assert.ok(transport.stats.bytes <= 2000, `${transport.stats.bytes} bytes kept`);
    const kept = (await replayed(transport, "earliest")).map((u) => u.id);
    assert.ok(kept.length > 0 && kept.length < 40);
    assert.deepEqual(
      kept,
      updates.slice(40 - kept.length).map((u) => u.id),
    );
    await transport.close();
  });

  it("trims by age in the background", async () => {
    let now = 1_000_000;
    const transport = new SqliteTransport({
      path: freshPath(),
      retention: { maxCount: 1000, maxAgeMs: 60_000 },
      trimIntervalMs: 10,
      now: () => now,
    });
    const old = update("old");
    await transport.publish(old);
    now += 61_000;
    const recent = update("recent");
    await transport.publish(recent);
    while (transport.stats.count > 1) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(
      (await replayed(transport, "earliest")).map((u) => u.id),
      [recent.id],
    );
    assert.equal((await transport.replay(old.id)).anchor, "earliest");
    await transport.close();
  });

  it("trims a history over a lowered count limit after a restart", async () => {
    const path = freshPath();
    const big = new SqliteTransport({ path, retention: { maxCount: 5000 } });
    const updates = Array.from({ length: 3000 }, (_, i) => update(`t${i}`));
    await Promise.all(updates.map((u) => big.publish(u)));
    await big.close();
    const small = new SqliteTransport({ path, retention: { maxCount: 10 }, trimIntervalMs: 5 });
    while (small.stats.count > 10) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(
      (await replayed(small, "earliest")).map((u) => u.id),
      updates.slice(-10).map((u) => u.id),
    );
    await small.close();
  });

  it("refuses to start on a file that is not a store, saying which file", () => {
    const path = freshPath();
    writeFileSync(path, "this is not a database, just some text long enough to have a header".repeat(20));
    assert.throws(
      () => new SqliteTransport({ path, retention: { maxCount: 10 } }),
      (error: unknown) => error instanceof TransportError && error.message.includes(path),
    );
  });

  it("fails a publish it cannot store instead of acknowledging it", async () => {
    const transport = new SqliteTransport({ path: freshPath(), retention: { maxCount: 10 } });
    const seen: string[] = [];
    transport.listen((u) => seen.push(u.id));
    await transport.close();
    await assert.rejects(transport.publish(update("late")), TransportError);
    assert.deepEqual(seen, []);
  });

  it("fails publishes while the store cannot be written, then recovers", async () => {
    const path = freshPath();
    const transport = new SqliteTransport({ path, retention: { maxCount: 10 } });
    const seen: string[] = [];
    transport.listen((u) => seen.push(u.id));
    // Another program writing to the file: the hub does not wait for it (that would stall every
    // subscriber), it refuses the publish.
    const intruder = new DatabaseSync(path);
    intruder.exec("BEGIN IMMEDIATE");
    const refused = update("refused");
    await assert.rejects(
      transport.publish(refused),
      (error: unknown) =>
        error instanceof TransportError && /cannot write to the history store/.test(error.message),
    );
    intruder.exec("ROLLBACK");
    intruder.close();
    const accepted = update("accepted");
    await transport.publish(accepted);
    assert.deepEqual(seen, [accepted.id]);
    assert.deepEqual(
      (await replayed(transport, "earliest")).map((u) => u.id),
      [accepted.id],
    );
    await transport.close();
  });

  it("keeps a store whose path is a symbolic link, its log beside the file linked to", async () => {
    const real = join(directory, "linked-to");
    mkdirSync(real);
    const path = freshPath();
    symlinkSync(join(real, "store.db"), path);
    const first = new SqliteTransport({ path, retention: { maxCount: 10 } });
    const kept = update("kept");
    await first.publish(kept);
    assert.deepEqual(readdirSync(real).sort(), ["store.db", "store.db-shm", "store.db-wal"]);
    assert.deepEqual(first.health(), { healthy: true });
    await first.close();
    const second = new SqliteTransport({ path, retention: { maxCount: 10 } });
    assert.deepEqual(
      (await replayed(second, "earliest")).map((u) => u.id),
      [kept.id],
    );
    await second.close();
  });

  it("lets one transport at a time write a store", async () => {
    const path = freshPath();
    const first = new SqliteTransport({ path, retention: { maxCount: 10 } });
    assert.throws(
      () => new SqliteTransport({ path, retention: { maxCount: 10 } }),
      (error: unknown) =>
        error instanceof TransportError && error.message.includes(`${path} is in use by another process`),
    );
    await first.close();
    const second = new SqliteTransport({ path, retention: { maxCount: 10 } });
    await second.close();
  });
});
