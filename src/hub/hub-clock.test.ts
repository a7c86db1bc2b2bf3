import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileMatcher } from "../matching/compile.ts";
import { MemoryTransport } from "../transports/memory.ts";
import { Hub } from "./hub.ts";
import type { StreamSink } from "./stream-sink.ts";

const TOPIC = "https://example.com/clock";
const HEARTBEAT_MS = 40;

/** A sink whose socket is backed up until the test drains it, recording what it is written. */
class BackedUpSink implements StreamSink {
  readonly writes: string[] = [];
  writable = false;
  ended = false;
  #drain: () => void = () => {};
  #waiting: { predicate: () => boolean; resolve: () => void }[] = [];

  drain(): void {
    this.writable = true;
    this.#drain();
  }

  /** Resolves once `predicate` holds, checked after every write and end. */
  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push({ predicate, resolve }));
  }

  #check(): void {
    this.#waiting = this.#waiting.filter(({ predicate, resolve }) => {
      if (!predicate()) return true;
      resolve();
      return false;
    });
  }

  start(): void {}
  write(frames: readonly Buffer[]): boolean {
    this.writes.push(frames.map((frame) => frame.toString()).join(""));
    this.#check();
    return this.writable;
  }
  onDrain(callback: () => void): void {
    this.#drain = callback;
  }
  onClose(): void {}
  end(): void {
    this.ended = true;
    this.#check();
  }
  destroy(): void {}
}

describe("the hub's clock", () => {
  it("is the clock of its connections: silence and lifetime are measured on it, drains included", {
    timeout: 10_000,
  }, async () => {
    // Far from the real time: a connection reading Date.now() anywhere would never see the stream
    // silent, nor the deadline reached.
    let now = 1_000_000;
    const hub = new Hub(new MemoryTransport({ historySize: 10 }), {
      heartbeatMs: HEARTBEAT_MS,
      writeTimeoutMs: 3_600_000,
      maxLifetimeMs: 3_600_000,
      maxQueueBytes: 1 << 20,
      now: () => now,
      random: () => 0,
    });
    const sink = new BackedUpSink();
    await hub.subscribe({
      matchers: [compileMatcher("exact", TOPIC, "https://hub.example/", { maxPatternLength: 100 })],
      grants: undefined,
      cursor: undefined,
      sink,
    });
    await sink.until(() => sink.writes.length === 1); // the first keep-alive, into a backed-up socket
    await hub.publish({
      topics: [TOPIC],
      data: "queued",
      id: undefined,
      type: undefined,
      retry: undefined,
      private: false,
    });
    now += 5;
    sink.drain(); // what waited leaves now, at the hub's time
    assert.match(sink.writes[1] ?? "", /data: queued/);
    now += HEARTBEAT_MS;
    await sink.until(() => sink.writes.length === 3);
    assert.equal(
      sink.writes[2],
      ":\n",
      "a keep-alive once the stream was silent a heartbeat, by the hub's clock",
    );
    now += 3_600_000;
    await sink.until(() => sink.ended);
    await hub.close();
  });
});
