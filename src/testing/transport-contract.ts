/**
 * The contract every transport keeps (see `Transport` in src/hub/transport.ts), as one `node:test`
 * suite. The memory and SQLite transports run it; a transport written outside this repository (a
 * Redis one, say) runs it the same way, from its own test file:
 *
 *     import { transportContract } from "quicksilver/testing";
 *     import { RedisTransport } from "../src/redis-transport.ts";
 *
 *     transportContract("redis", (historySize, subscriptionHistorySize) =>
 *       new RedisTransport({ url: process.env.REDIS_URL, historySize, subscriptionHistorySize }),
 *     );
 *
 * and `node --test`. The factory is called once per test, and must hand back a transport with an
 * empty history (a fresh store, key prefix or database); every test closes the one it got.
 *
 * Besides the transport alone, one test drives a real `Hub` over it, with a replay held open while
 * live updates arrive: the seam between replay and live must lose nothing and repeat nothing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Hub } from "../hub/hub.ts";
import type { StreamSink } from "../hub/stream-sink.ts";
import type { Position, Replay, ReplayEntry, Transport } from "../hub/transport.ts";
import { createUpdate, type Update } from "../hub/update.ts";
import { compileMatcher } from "../matching/compile.ts";

/**
 * A transport to test, created with room for `historySize` updates and, apart from them,
 * `subscriptionHistorySize` subscription events (the transport's default when undefined).
 */
export type TransportFactory = (
  historySize: number,
  subscriptionHistorySize?: number,
) => Promise<Transport> | Transport;

function update(topic: string, id?: string, isPrivate = false): Update {
  return createUpdate({
    topics: [topic],
    data: topic,
    id,
    type: undefined,
    retry: undefined,
    private: isPrivate,
  });
}

/** A subscription event, as the hub makes them. */
function subscriptionEvent(topic: string): Update {
  return createUpdate(
    { topics: [topic], data: "{}", id: undefined, type: "mercure", retry: undefined, private: true },
    "subscription",
  );
}

async function entriesOf(replay: Replay): Promise<ReplayEntry[]> {
  const entries: ReplayEntry[] = [];
  for await (const entry of replay.entries) entries.push(entry);
  return entries;
}

async function collect(
  transport: Transport,
  cursor: string,
  visible?: (update: Pick<Update, "topics" | "private">) => boolean,
): Promise<{ anchor: string; ids: string[] }> {
  const replay = await transport.replay(cursor, visible);
  const ids = (await entriesOf(replay)).map((entry) => entry.update.id);
  return { anchor: replay.anchor, ids };
}

/** Whether each position comes strictly after the one before it, by the transport's order. */
function increasing(transport: Transport, positions: readonly Position[]): boolean {
  for (let i = 1; i < positions.length; i++) {
    if (!(transport.comparePositions(positions[i - 1]!, positions[i]!) < 0)) return false;
    if (!(transport.comparePositions(positions[i]!, positions[i - 1]!) > 0)) return false;
  }
  return positions.every((position) => transport.comparePositions(position, position) === 0);
}

/**
 * The behaviour every transport must have (see src/hub/transport.ts). Each transport's test file
 * calls this with a factory.
 */
export function transportContract(name: string, create: TransportFactory): void {
  describe(`${name} transport contract`, () => {
    it("assigns strictly increasing positions and hands updates to the listener in that order", async () => {
      const transport = await create(10);
      const seen: ReplayEntry[] = [];
      transport.listen((u, position) => seen.push({ update: u, position }));
      const acknowledged: Position[] = [];
      for (const topic of ["a", "b", "c"]) acknowledged.push(await transport.publish(update(topic)));
      assert.deepEqual(
        seen.map((entry) => entry.update.topics[0]),
        ["a", "b", "c"],
      );
      const positions = seen.map((entry) => entry.position);
      assert.ok(positions.every((position) => typeof position === "string" && position !== ""));
      assert.ok(increasing(transport, positions), `${positions.join(", ")} strictly increase`);
      assert.deepEqual(acknowledged, positions, "publish resolves with the position the listener got");
      assert.deepEqual(
        (await entriesOf(await transport.replay("earliest"))).map((entry) => entry.position),
        positions,
        "a replay yields each update with the position the listener got",
      );
      await transport.close();
    });

    it("never writes to the update it is given", async () => {
      const transport = await create(10);
      const given = Object.freeze(update("frozen"));
      // A frozen update: a transport that writes to it throws (modules are strict mode).
      await transport.publish(given);
      assert.deepEqual((await collect(transport, "earliest")).ids, [given.id]);
      await transport.close();
    });

    it("stores an update before the listener sees it", async () => {
      const transport = await create(10);
      // Replays begun from inside the listener: each must contain the update being handed over.
      const replaysDuringListener: Promise<Replay>[] = [];
      const positions: Position[] = [];
      transport.listen((_, position) => {
        replaysDuringListener.push(transport.replay("earliest"));
        positions.push(position);
      });
      const first = update("a");
      await transport.publish(first);
      assert.equal(replaysDuringListener.length, 1);
      for (const replay of replaysDuringListener) {
        const ids = (await entriesOf(await replay)).map((entry) => entry.update.id);
        assert.ok(ids.includes(first.id));
      }
      assert.ok(positions.every((position) => position !== ""));
      assert.deepEqual((await collect(transport, "earliest")).ids, [first.id]);
      await transport.close();
    });

    it("answers earliest and nothing for an empty history", async () => {
      const transport = await create(10);
      assert.deepEqual(await collect(transport, "earliest"), { anchor: "earliest", ids: [] });
      assert.deepEqual(await collect(transport, "urn:uuid:unknown"), { anchor: "earliest", ids: [] });
      await transport.close();
    });

    it("replays what follows a cursor, anchored on the cursor", async () => {
      const transport = await create(10);
      const updates = ["a", "b", "c", "d"].map((topic) => update(topic));
      for (const u of updates) await transport.publish(u);
      assert.deepEqual(await collect(transport, updates[1]!.id), {
        anchor: updates[1]!.id,
        ids: [updates[2]!.id, updates[3]!.id],
      });
      assert.deepEqual(await collect(transport, updates[3]!.id), { anchor: updates[3]!.id, ids: [] });
      assert.deepEqual(await collect(transport, "earliest"), {
        anchor: "earliest",
        ids: updates.map((u) => u.id),
      });
      await transport.close();
    });

    it("replays everything kept, anchored on earliest, for an unknown cursor", async () => {
      const transport = await create(10);
      const updates = ["a", "b"].map((topic) => update(topic));
      for (const u of updates) await transport.publish(u);
      assert.deepEqual(await collect(transport, "urn:uuid:not-here"), {
        anchor: "earliest",
        ids: updates.map((u) => u.id),
      });
      await transport.close();
    });

    it("resolves a reused id to its earliest occurrence", async () => {
      const transport = await create(10);
      const first = update("a", "same");
      const middle = update("b");
      const again = update("c", "same");
      const last = update("d");
      for (const u of [first, middle, again, last]) await transport.publish(u);
      const { anchor, ids } = await collect(transport, "same");
      assert.equal(anchor, "same");
      assert.equal(ids.length, 3);
      assert.deepEqual(
        [ids[0], ids[2]],
        [middle.id, last.id],
        "everything after the first occurrence, the reused id included",
      );
      await transport.close();
    });

    it("takes a publish that repeats the newest kept update with its id as that update: stored and handed over once", async () => {
      const transport = await create(10);
      const seen: Position[] = [];
      transport.listen((_, position) => seen.push(position));
      const original = update("a", "retried");
      const position = await transport.publish(original);
      const other = update("b");
      await transport.publish(other);
      // The publisher's retry: the same fields again, in a new object.
      assert.equal(await transport.publish(update("a", "retried")), position);
      assert.equal(seen.length, 2, "the repeat is not handed to the listener again");
      assert.deepEqual((await collect(transport, "earliest")).ids, [original.id, other.id]);
      // Same id, other fields: a new update, not a repeat.
      const changed = update("c", "retried");
      const changedPosition = await transport.publish(changed);
      assert.ok(transport.comparePositions(changedPosition, position) > 0);
      assert.deepEqual((await collect(transport, "earliest")).ids, [original.id, other.id, "retried"]);
      // Compared with the newest occurrence: the first one repeated now is stored again.
      await transport.publish(update("a", "retried"));
      assert.equal((await collect(transport, "earliest")).ids.length, 4);
      assert.equal(seen.length, 4);
      await transport.close();
    });

    it("keeps a bounded history, dropping the oldest first", async () => {
      const transport = await create(3);
      const updates = ["a", "b", "c", "d", "e"].map((topic) => update(topic));
      for (const u of updates) await transport.publish(u);
      assert.deepEqual(
        (await collect(transport, "earliest")).ids,
        updates.slice(2).map((u) => u.id),
      );
      // A cursor already discarded: replay all that is kept, and say so with `earliest`.
      assert.deepEqual(await collect(transport, updates[0]!.id), {
        anchor: "earliest",
        ids: updates.slice(2).map((u) => u.id),
      });
      assert.deepEqual(
        (await collect(transport, updates[2]!.id)).ids,
        updates.slice(3).map((u) => u.id),
      );
      await transport.close();
    });

    it("keeps finding a reused id after its first occurrence is dropped", async () => {
      const transport = await create(2);
      const first = update("a", "again");
      const second = update("b", "again");
      const third = update("c");
      for (const u of [first, second, third]) await transport.publish(u);
      assert.deepEqual(await collect(transport, "again"), { anchor: "again", ids: [third.id] });
      await transport.close();
    });

    it("keeps subscription events apart: however many, they never push an update out", async () => {
      const transport = await create(2, 3);
      const updates = [update("a"), update("b")];
      await transport.publish(updates[0]!);
      const events = Array.from({ length: 10 }, (_, i) => subscriptionEvent(`s${i}`));
      for (const event of events.slice(0, 5)) await transport.publish(event);
      await transport.publish(updates[1]!);
      for (const event of events.slice(5)) await transport.publish(event);
      // Both updates kept, and the three newest events, all in the order they were published.
      assert.deepEqual(
        (await collect(transport, "earliest")).ids,
        [updates[0]!, updates[1]!, ...events.slice(7)].map((u) => u.id),
      );
      await transport.close();
    });

    it("replays updates and subscription events in one order, from a cursor naming either", async () => {
      const transport = await create(10, 10);
      const sequence = [
        update("a"),
        subscriptionEvent("s1"),
        update("b"),
        subscriptionEvent("s2"),
        update("c"),
      ];
      const seen: ReplayEntry[] = [];
      transport.listen((u, position) => seen.push({ update: u, position }));
      for (const u of sequence) await transport.publish(u);
      assert.deepEqual(
        seen.map((entry) => entry.update.id),
        sequence.map((u) => u.id),
        "the listener sees them in publish order",
      );
      assert.ok(
        increasing(
          transport,
          seen.map((entry) => entry.position),
        ),
      );
      assert.deepEqual(
        (await entriesOf(await transport.replay("earliest"))).map((entry) => entry.position),
        seen.map((entry) => entry.position),
        "replayed with the positions the listener got",
      );
      for (const [at, cursor] of sequence.entries()) {
        assert.deepEqual(await collect(transport, cursor.id), {
          anchor: cursor.id,
          ids: sequence.slice(at + 1).map((u) => u.id),
        });
      }
      await transport.close();
    });

    it("answers a cursor the subscriber may not know of as an unknown one", async () => {
      const transport = await create(10);
      const updates = [update("a"), update("secret", "hidden", true), update("b")];
      for (const u of updates) await transport.publish(u);
      const everything = updates.map((u) => u.id);
      const mayKnow = (u: Pick<Update, "topics" | "private">) => !u.private;
      assert.deepEqual(await collect(transport, "hidden", mayKnow), { anchor: "earliest", ids: everything });
      assert.deepEqual(await collect(transport, "hidden", () => true), {
        anchor: "hidden",
        ids: [updates[2]!.id],
      });
      assert.deepEqual(await collect(transport, updates[0]!.id, mayKnow), {
        anchor: updates[0]!.id,
        ids: everything.slice(1),
      });
      await transport.close();
    });

    it("hands a subscriber every update after its cursor once, in order, when live ones arrive during its replay", {
      timeout: 10_000,
    }, async () => {
      const gate = { middle: new Pause(), end: new Pause() };
      const hub = new Hub(gated(await create(100), gate), {
        heartbeatMs: 60_000,
        writeTimeoutMs: 60_000,
        maxLifetimeMs: 3_600_000,
        maxQueueBytes: 1 << 20,
      });
      const publish = async (topic: string) => (await hub.publish(fields(topic))).id;
      const before: string[] = [];
      for (let i = 0; i < 5; i++) before.push(await publish(SEAM_TOPIC));
      const sink = new RecordingSink();
      const subscribed = hub.subscribe({
        matchers: [compileMatcher("exact", SEAM_TOPIC, SEAM_HUB_URL, { maxPatternLength: 1000 })],
        grants: undefined,
        cursor: before[1],
        sink,
      });
      // The replay has yielded its first update and waits before the second: live updates arrive,
      // which a replay that reads history as it goes also yields (the hub must send them once).
      await gate.middle.reached;
      const live: string[] = [];
      for (let i = 0; i < 3; i++) {
        live.push(await publish(SEAM_TOPIC));
        await publish("https://example.com/contract/elsewhere"); // selected by no one
      }
      gate.middle.open();
      // It has yielded its last update: live updates arrive that only the hub's handover can send.
      await gate.end.reached;
      for (let i = 0; i < 3; i++) live.push(await publish(SEAM_TOPIC));
      gate.end.open();
      assert.ok(await subscribed, "the stream went live");
      const marker = await publish(SEAM_TOPIC);
      await sink.received(marker);
      assert.equal(sink.anchor, before[1]);
      assert.deepEqual(sink.ids, [...before.slice(2), ...live, marker], "no gap, no duplicate, in order");
      await hub.close();
    });
  });
}

const SEAM_TOPIC = "https://example.com/contract/seam";
const SEAM_HUB_URL = "https://hub.example/.well-known/mercure";

function fields(topic: string) {
  return { topics: [topic], data: topic, id: undefined, type: undefined, retry: undefined, private: false };
}

/** A point where a replay waits until `open` is called. */
class Pause {
  #open!: () => void;
  readonly #opened = new Promise<void>((resolve) => {
    this.#open = resolve;
  });
  #reach!: () => void;
  /** Resolves once a replay waits at the gate. */
  readonly reached = new Promise<void>((resolve) => {
    this.#reach = resolve;
  });

  open(): void {
    this.#open();
  }

  async pass(): Promise<void> {
    this.#reach();
    await this.#opened;
  }
}

/**
 * The transport under test, its replays pausing between their first two updates (`middle`) and
 * after their last one (`end`).
 */
function gated(transport: Transport, gate: { middle: Pause; end: Pause }): Transport {
  async function* entries(replay: Replay): AsyncGenerator<ReplayEntry> {
    let yielded = 0;
    for await (const entry of replay.entries) {
      if (yielded++ === 1) await gate.middle.pass();
      yield entry;
    }
    await gate.end.pass();
  }
  return {
    publish: (update) => transport.publish(update),
    listen: (listener) => transport.listen(listener),
    replay: async (cursor, visible) => {
      const replay = await transport.replay(cursor, visible);
      return { anchor: replay.anchor, entries: entries(replay) };
    },
    comparePositions: (a, b) => transport.comparePositions(a, b),
    close: () => transport.close(),
  };
}

/** A stream that records the id of every event written to it. */
class RecordingSink implements StreamSink {
  anchor: string | undefined;
  readonly ids: string[] = [];
  #waiting: { id: string; resolve: () => void } | undefined;

  /** Resolves once the event with this id was written. */
  received(id: string): Promise<void> {
    if (this.ids.includes(id)) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiting = { id, resolve };
    });
  }

  start(anchor: string | undefined): void {
    this.anchor = anchor;
  }

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
  end(): void {}
  destroy(): void {}
}
