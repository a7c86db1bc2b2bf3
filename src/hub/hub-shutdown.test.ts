import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { describe, it } from "node:test";
import { compileMatcher } from "../matching/compile.ts";
import type { PublishFields } from "../protocol/publish-request.ts";
import { SseParser } from "../protocol/sse-parser.ts";
import { MemoryTransport } from "../transports/memory.ts";
import { CHANNELS, type ConnectionClosedMessage } from "./diagnostics.ts";
import { Hub } from "./hub.ts";
import { RETRY_FLOOR_MS } from "./shutdown-spread.ts";
import type { StreamSink } from "./stream-sink.ts";
import { createUpdate } from "./update.ts";

const TOPIC = "https://example.com/shutdown";
const WINDOW_MS = 2000;

/** A sink that parses what it is written, as an EventSource would. */
class ParsingSink implements StreamSink {
  readonly ids: string[] = [];
  readonly retries: number[] = [];
  /** What arrived, in order: an event's id, `retry`, or `end`. */
  readonly sequence: string[] = [];
  ended = false;
  readonly #parser = new SseParser({
    onEvent: (event) => {
      this.ids.push(event.id);
      this.sequence.push(event.id);
    },
    onRetry: (ms) => {
      this.retries.push(ms);
      this.sequence.push("retry");
    },
  });

  start(): void {}
  write(frames: readonly Buffer[]): boolean {
    for (const frame of frames) this.#parser.push(frame);
    return true;
  }
  onDrain(): void {}
  onClose(): void {}
  end(): void {
    this.ended = true;
    this.sequence.push("end");
  }
  destroy(): void {
    throw new Error("a stream ended by the shutdown is never cut");
  }
}

/** A timer the test fires by hand: what the hub scheduled, and when. */
class ManualTimer {
  readonly scheduled: { ms: number; fire: () => void }[] = [];
  readonly set = (fire: () => void, ms: number): void => {
    this.scheduled.push({ ms, fire });
  };
}

/** Turns of the event loop, for the flush the hub schedules with setImmediate. */
const flushed = () => new Promise((resolve) => setImmediate(resolve));

function update(id: string): PublishFields {
  return { topics: [TOPIC], data: id, id, type: undefined, retry: undefined, private: false };
}

/**
 * A hub with `count` streams open; `draws` are what its random source gives from then on, in turn
 * (the streams' lifetimes drew theirs already): a stream's moment, then its retry, per stream.
 */
async function hubWithStreams(draws: readonly number[], count: number) {
  const timer = new ManualTimer();
  let next = -1;
  const random = () => (next < 0 ? 0 : draws[next++ % draws.length]!);
  const transport = new MemoryTransport({ historySize: 100 });
  const hub = new Hub(transport, {
    heartbeatMs: 3_600_000,
    writeTimeoutMs: 3_600_000,
    maxLifetimeMs: 3_600_000,
    maxQueueBytes: 1 << 20,
    random,
    setTimer: timer.set,
  });
  const sinks: ParsingSink[] = [];
  for (let i = 0; i < count; i++) {
    const sink = new ParsingSink();
    sinks.push(sink);
    await hub.subscribe({
      matchers: [compileMatcher("exact", TOPIC, "https://hub.example/", { maxPatternLength: 100 })],
      grants: undefined,
      cursor: undefined,
      sink,
    });
  }
  next = 0;
  return { hub, transport, timer, sinks };
}

describe("the shutdown's spread", () => {
  it("gives each stream a moment inside the window and a retry between the floor and the floor plus the window", async () => {
    // The last stream draws the extremes.
    const { hub, timer, sinks } = await hubWithStreams([0, 0, 0.25, 0.5, 0.999, 0.999], 3);
    const closing = hub.close(WINDOW_MS);
    assert.deepEqual(
      timer.scheduled.map(({ ms }) => ms),
      [0, Math.floor(0.25 * WINDOW_MS), Math.floor(0.999 * WINDOW_MS)],
    );
    for (const { ms } of timer.scheduled) assert.ok(ms >= 0 && ms < WINDOW_MS);
    for (const { fire } of timer.scheduled) fire();
    await closing;
    await flushed();
    assert.deepEqual(
      sinks.map((sink) => sink.retries),
      [
        [RETRY_FLOOR_MS],
        [RETRY_FLOOR_MS + 0.5 * WINDOW_MS],
        [RETRY_FLOOR_MS + Math.floor(0.999 * WINDOW_MS)],
      ],
    );
    assert.equal(hub.connectionCount, 0);
  });

  it("sends a stream its retry, then ends it, at its moment; until then it receives every update", async () => {
    // Stream 1: moment 0, retry floor; stream 2: moment half the window, retry floor plus half.
    const { hub, transport, timer, sinks } = await hubWithStreams([0, 0, 0.5, 0.5], 2);
    const [first, second] = sinks as [ParsingSink, ParsingSink];
    const closed: ConnectionClosedMessage[] = [];
    const onClosed = (message: unknown) => closed.push(message as ConnectionClosedMessage);
    subscribe(CHANNELS.connectionClosed, onClosed);
    try {
      // In flight when the shutdown begins: answered, and delivered.
      const inFlight = hub.publish(update("in-flight"));
      const closing = hub.close(WINDOW_MS);
      await inFlight;
      await assert.rejects(hub.publish(update("refused")), { code: "shutting_down" });
      assert.equal(timer.scheduled.length, 2);
      timer.scheduled[0]!.fire();
      await flushed();
      assert.deepEqual(first.sequence, ["in-flight", "retry", "end"]);
      assert.deepEqual(first.retries, [RETRY_FLOOR_MS]);
      assert.equal(second.ended, false, "the second stream waits for its moment");

      // What the transport dispatches meanwhile (another node's publish, in a cluster) still
      // reaches the stream whose moment has not come.
      await transport.publish(createUpdate(update("from-another-node")));
      await flushed();
      assert.deepEqual(second.ids, ["in-flight", "from-another-node"]);

      timer.scheduled[1]!.fire();
      await closing;
      await flushed();
      assert.deepEqual(second.sequence, ["in-flight", "from-another-node", "retry", "end"]);
      assert.deepEqual(second.retries, [RETRY_FLOOR_MS + 0.5 * WINDOW_MS]);
      assert.deepEqual(
        closed.map((message) => message.reason),
        ["shutdown", "shutdown"],
      );
    } finally {
      unsubscribe(CHANNELS.connectionClosed, onClosed);
    }
  });

  it("with a window of 0, ends every stream at once, each told the retry floor", async () => {
    const { hub, timer, sinks } = await hubWithStreams([0.7], 3);
    await hub.close(0);
    assert.equal(timer.scheduled.length, 0);
    await flushed();
    for (const sink of sinks) {
      assert.deepEqual(sink.sequence, ["retry", "end"]);
      assert.deepEqual(sink.retries, [RETRY_FLOOR_MS]);
    }
  });
});
