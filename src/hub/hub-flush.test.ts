import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileMatcher } from "../matching/compile.ts";
import { MemoryTransport } from "../transports/memory.ts";
import { Hub } from "./hub.ts";

const TOPIC = "https://example.com/fan-out";

/** A hub with `count` subscribers on TOPIC whose sinks record the data of every event written. */
async function fanOut(count: number) {
  const hub = new Hub(new MemoryTransport({ historySize: 0 }), {
    heartbeatMs: 60_000,
    writeTimeoutMs: 60_000,
    maxLifetimeMs: 3_600_000,
    maxQueueBytes: 1 << 20,
  });
  const received: string[][] = [];
  const writes: number[] = [];
  for (let i = 0; i < count; i++) {
    const mine: string[] = [];
    received.push(mine);
    writes.push(0);
    await hub.subscribe({
      matchers: [compileMatcher("exact", TOPIC, "https://hub.example/", { maxPatternLength: 100 })],
      grants: undefined,
      cursor: undefined,
      sink: {
        start: () => {},
        write: (frames) => {
          writes[i]!++;
          for (const frame of frames) {
            const data = /^data: (.*)$/m.exec(frame.toString())?.[1];
            if (data !== undefined) mine.push(data);
          }
          return true;
        },
        onDrain: () => {},
        onClose: () => {},
        end: () => {},
        destroy: () => {},
      },
    });
  }
  await new Promise(setImmediate); // the keep-alives that open every stream are written
  writes.fill(0);
  const publish = (data: string) =>
    hub.publish({ topics: [TOPIC], data, id: undefined, type: undefined, retry: undefined, private: false });
  return { hub, received, writes, publish };
}

describe("writing a fan-out", () => {
  it("writes to many sockets a slice per turn, taking in events published in between", async () => {
    const { hub, received, writes, publish } = await fanOut(5000);
    await publish("first");
    // One turn of the event loop: the first slice is written, the rest is not yet.
    await new Promise(setImmediate);
    const written = writes.filter((n) => n > 0).length;
    assert.ok(written > 0 && written < 5000, `${written} of 5000 sockets written in one turn`);
    // Published while the fan-out is under way: the sockets not yet written take both at once.
    await publish("second");
    for (let turn = 0; turn < 100 && received.some((r) => r.length < 2); turn++)
      await new Promise(setImmediate);
    for (const events of received) assert.deepEqual(events, ["first", "second"]);
    assert.ok(
      writes.some((n) => n === 1),
      "some sockets received both events in one write",
    );
    await hub.close();
  });

  it("writes a large update a slice of bytes per turn, not to every socket of a slice at once", async () => {
    const { hub, received, writes, publish } = await fanOut(64);
    // 64 sockets are one slice by count, but 25 MiB written in one turn would hold every other
    // request (and a publish's acknowledgement) behind it.
    const large = "l".repeat(400 * 1024); // within half of maxQueueBytes, the largest update
    await publish(large);
    await new Promise(setImmediate);
    const written = writes.filter((n) => n > 0).length;
    assert.ok(written > 0 && written < 64, `${written} of 64 sockets written in one turn`);
    for (let turn = 0; turn < 100 && received.some((r) => r.length < 1); turn++)
      await new Promise(setImmediate);
    for (const events of received) assert.equal(events[0]?.length, large.length);
    await hub.close();
  });

  it("delivers every event once and in order under a steady stream of publishes", async () => {
    const { hub, received, publish } = await fanOut(3000);
    // Enough turns, each with a publish, that the pending list is compacted several times.
    const events = Array.from({ length: 60 }, (_, i) => `e${i}`);
    for (const data of events) {
      await publish(data);
      await new Promise(setImmediate);
    }
    for (let turn = 0; turn < 1000 && received.some((r) => r.length < events.length); turn++) {
      await new Promise(setImmediate);
    }
    for (const got of received) assert.deepEqual(got, events);
    await hub.close();
  });
});
