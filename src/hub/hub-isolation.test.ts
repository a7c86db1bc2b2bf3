import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileMatcher } from "../matching/compile.ts";
import { MemoryTransport } from "../transports/memory.ts";
import { Hub } from "./hub.ts";
import type { StreamSink } from "./stream-sink.ts";
import { createUpdate } from "./update.ts";

const TOPIC = "https://example.com/isolation";
const HUB_URL = "https://hub.example/.well-known/mercure";

/** A sink recording the data it is written, or throwing on every write when `broken`. */
function sink(broken: boolean) {
  const received: string[] = [];
  let destroyed = false;
  const stream: StreamSink = {
    start: () => {},
    write: (frames) => {
      if (broken) throw new Error("this socket is broken");
      for (const frame of frames) {
        const data = /^data: (.*)$/m.exec(frame.toString())?.[1];
        if (data !== undefined) received.push(data);
      }
      return true;
    },
    onDrain: () => {},
    onClose: () => {},
    end: () => {},
    destroy: () => {
      destroyed = true;
    },
  };
  return { stream, received, destroyed: () => destroyed };
}

function startHub(transport = new MemoryTransport({ historySize: 10 })) {
  const errors: object[] = [];
  const hub = new Hub(transport, {
    heartbeatMs: 60_000,
    writeTimeoutMs: 60_000,
    maxLifetimeMs: 3_600_000,
    maxQueueBytes: 1 << 20,
    subscriptions: { hubPath: "/.well-known/mercure" },
    logger: { debug() {}, info() {}, warn() {}, error: (fields) => errors.push(fields) },
  });
  return { hub, transport, errors };
}

const settle = () => new Promise(setImmediate);

describe("a failure on the delivery path", () => {
  it("costs the stream that failed, and every other stream still gets the update", async () => {
    const { hub, errors } = startHub();
    const sinks = [sink(false), sink(true), sink(false)];
    for (const { stream } of sinks) {
      await hub.subscribe({
        matchers: [compileMatcher("exact", TOPIC, HUB_URL, { maxPatternLength: 100 })],
        grants: undefined,
        cursor: undefined,
        sink: stream,
      });
    }
    await settle();
    await hub.publish({
      topics: [TOPIC],
      data: "one",
      id: undefined,
      type: undefined,
      retry: undefined,
      private: false,
    });
    await settle();
    assert.deepEqual(
      sinks.map(({ received }) => received),
      [["one"], [], ["one"]],
    );
    assert.equal(sinks[1]!.destroyed(), true, "the failing stream is dropped");
    assert.equal(hub.connectionCount, 2);
    assert.equal(errors.length, 1, "and logged once");
    await hub.close();
  });

  it("costs a subscription event that cannot be read, never the hub", async () => {
    const { hub, transport, errors } = startHub();
    const received = sink(false);
    await hub.subscribe({
      matchers: [compileMatcher("exact", "*", HUB_URL, { maxPatternLength: 100 })],
      grants: undefined,
      cursor: undefined,
      sink: received.stream,
    });
    const unreadable = createUpdate(
      { topics: [TOPIC], data: "not json", id: undefined, type: "mercure", retry: undefined, private: false },
      "subscription",
    );
    await transport.publish(unreadable);
    await hub.publish({
      topics: [TOPIC],
      data: "after",
      id: undefined,
      type: undefined,
      retry: undefined,
      private: false,
    });
    await settle();
    assert.ok(received.received.includes("after"), "the hub goes on delivering");
    assert.equal(errors.length, 1);
    await hub.close();
  });

  it("costs a subscription event that cannot be made, never the hub, when a stream opens or closes", async () => {
    const { hub, errors } = startHub();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic; // a payload JSON cannot hold
    const everything = compileMatcher("exact", "*", HUB_URL, { maxPatternLength: 100 });
    const received = sink(false);
    const connection = await hub.subscribe({
      matchers: [compileMatcher("exact", TOPIC, HUB_URL, { maxPatternLength: 100 })],
      grants: {
        dialect: "modern",
        publish: [],
        subscribe: [{ matchers: [everything], payload: cyclic }],
        expiresAt: undefined,
        issuer: undefined,
        subject: undefined,
      },
      cursor: undefined,
      sink: received.stream,
    });
    assert.ok(connection, "the stream opened");
    connection.close("client_left");
    assert.equal(errors.length, 2, "its start and its end could not be announced, and were logged");
    assert.equal(hub.connectionCount, 0);
    await hub.close();
  });
});
