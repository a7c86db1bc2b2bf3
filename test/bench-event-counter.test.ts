import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventCounter } from "../src/loadtest/event-counter.ts";

/** An SSE body as the hub writes it: a comment, then `events` events whose data carries a stamp. */
function body(events: number): Buffer {
  let text = ":\n\n";
  for (let i = 1; i <= events; i++) {
    const stamp = i % 2 === 0 ? `t=${Date.now()};` : `w=${i};`;
    text += `id: urn:uuid:${i}\ndata: ${stamp}xxxxxxxx\n\n`;
  }
  return Buffer.from(text);
}

function counted(chunks: readonly Buffer[]) {
  const latencies: number[] = [];
  let calls = 0;
  const counter = new EventCounter(latencies, () => calls++);
  for (const chunk of chunks) counter.count(chunk);
  return { events: counter.events, calls, latencies: latencies.length, warmUp: counter.warmUp };
}

// The generators' figures are only as good as this count: HTTP/2 splits a write into DATA frames
// anywhere, so each event must be counted once, and each stamp read once, wherever a chunk ends.
describe("the event counter", () => {
  const whole = body(6);
  const expected = { events: 6, calls: 6, latencies: 3, warmUp: 5 };

  it("counts a body in one chunk", () => {
    assert.deepEqual(counted([whole]), expected);
  });

  it("counts a body split in two at every byte", () => {
    for (let at = 1; at < whole.length; at++)
      assert.deepEqual(counted([whole.subarray(0, at), whole.subarray(at)]), expected, `split at ${at}`);
  });

  it("counts a body fed one byte at a time", () => {
    const bytes = Array.from({ length: whole.length }, (_, i) => whole.subarray(i, i + 1));
    assert.deepEqual(counted(bytes), expected);
  });
});
