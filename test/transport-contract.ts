import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Transport } from "../src/hub/transport.ts";
import { createUpdate, type Update } from "../src/hub/update.ts";

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

async function collect(
  transport: Transport,
  cursor: string,
  visible?: (update: Pick<Update, "topics" | "private">) => boolean,
): Promise<{ anchor: string; ids: string[] }> {
  const replay = await transport.replay(cursor, visible);
  const ids: string[] = [];
  for await (const item of replay.updates) ids.push(item.id);
  return { anchor: replay.anchor, ids };
}

/**
 * The behaviour every transport must have (see src/hub/transport.ts). Each transport's test file
 * calls this with a factory.
 */
export function transportContract(name: string, create: TransportFactory): void {
  describe(`${name} transport contract`, () => {
    it("assigns strictly increasing seqs and hands updates to the listener in that order", async () => {
      const transport = await create(10);
      const seen: Update[] = [];
      transport.listen((u) => seen.push(u));
      for (const topic of ["a", "b", "c"]) await transport.publish(update(topic));
      assert.deepEqual(
        seen.map((u) => u.topics[0]),
        ["a", "b", "c"],
      );
      assert.ok(seen[0]!.seq > 0 && seen[0]!.seq < seen[1]!.seq && seen[1]!.seq < seen[2]!.seq);
      await transport.close();
    });

    it("stores an update before the listener sees it", async () => {
      const transport = await create(10);
      const replayedDuringListener: string[][] = [];
      transport.listen((u) => {
        const replay = transport.replay("earliest");
        // Synchronous transports can be checked here; asynchronous ones in the next test.
        if (!(replay instanceof Promise) && Symbol.iterator in replay.updates) {
          replayedDuringListener.push([...(replay.updates as Iterable<Update>)].map((x) => x.id));
        }
        assert.ok(u.seq > 0);
      });
      const first = update("a");
      await transport.publish(first);
      for (const ids of replayedDuringListener) assert.ok(ids.includes(first.id));
      assert.deepEqual((await collect(transport, "earliest")).ids, [first.id]);
      await transport.close();
    });

    it("answers earliest and nothing for an empty history", async () => {
      const transport = await create(10);
      assert.deepEqual(await collect(transport, "earliest"), { anchor: "earliest", ids: [] });
      assert.deepEqual(await collect(transport, "urn:uuid:unknown"), { anchor: "earliest", ids: [] });
      assert.equal(transport.lastEventId(), undefined);
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
      assert.equal(transport.lastEventId(), updates[3]!.id);
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
      assert.equal(transport.lastEventId(), updates[1]!.id, "the newest update, not an event");
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
      const seen: Update[] = [];
      transport.listen((u) => seen.push(u));
      for (const u of sequence) await transport.publish(u);
      assert.deepEqual(
        seen.map((u) => u.id),
        sequence.map((u) => u.id),
        "the listener sees them in publish order",
      );
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.seq > seen[i - 1]!.seq);
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
  });
}
