/**
 * Micro benchmark: the cost of turning one update into its SSE frame, as `createUpdate` does
 * (`Buffer.from(encodeEvent(fields))`, once per publish whatever the number of subscribers).
 * Run with Node 24: `node scripts/node24.js src/protocol/sse-encoder.bench.ts` (all micro
 * benchmarks: `npm run bench:micro`).
 *
 * Columns, all per event:
 * - "encode ns": `encodeEvent` alone. V8 builds the result as a rope (a tree of concatenated
 *   pieces), so this is the cost of deciding the lines, not of copying bytes;
 * - "encode+buffer ns" and "MB/s": `Buffer.from(encodeEvent(…))`, what the hub pays; MB/s is frame
 *   bytes (10^6 per MB) per second;
 * - "naive ns" and "naive MB/s": the obvious alternative, one template string with the line breaks
 *   of the data replaced by a regexp, then `Buffer.from`. It writes the same bytes (checked below);
 * - "encoder/naive": below 1 means the encoder is faster.
 *
 * Each figure is the median of 7 timed rounds, after calibration and a warm-up round; "±%" is
 * half the spread of the rounds relative to the median (a noise indicator, not an error bar).
 * The checksum printed last only keeps the measured calls from being optimized away.
 */

import { checksum, measure, percent, roundNs } from "../../bench/micro-bench.ts";
import { encodeEvent, type SseFields } from "./sse-encoder.ts";

const mbPerSecond = (bytes: number, ns: number): number => Math.round((bytes / ns) * 1000);

/** A flat, non-internalized copy, like the strings the form parser hands the hub. */
const flat = (text: string): string => Buffer.from(text).toString();

/** The baseline: one template string, line breaks of the data turned into new `data:` lines. */
const LINE_BREAKS = /\r\n|\r|\n/g;
function naiveFrame(event: SseFields): Buffer {
  return Buffer.from(
    `id: ${event.id}\n${event.type === undefined ? "" : `event: ${event.type}\n`}${
      event.retry === undefined ? "" : `retry: ${event.retry}\n`
    }data: ${event.data.replace(LINE_BREAKS, "\ndata: ")}\n\n`,
  );
}

/** Text of exactly `bytes` UTF-8 bytes, `line` repeated then cut. */
function fill(line: string, bytes: number): string {
  let text = "";
  while (Buffer.byteLength(text) < bytes) text += line;
  while (Buffer.byteLength(text) > bytes) text = text.slice(0, -1);
  return flat(text);
}

// A generated id, as most updates carry (`urn:uuid:` and a random UUID).
const ID = flat("urn:uuid:0b1e7c4a-8f0e-4d5e-9a47-3f6c2d1e9b80");
const SMALL = fill('{"id":42,"status":"shipped"}', 32);
const CASES: readonly { name: string; event: SseFields }[] = [
  { name: "32 B data", event: { id: ID, data: SMALL } },
  {
    name: "32 B data, type, retry",
    event: { id: ID, type: flat("order-update"), retry: "5000", data: SMALL },
  },
  { name: "1 KB data", event: { id: ID, data: fill('{"sku":"A-1234","qty":3,"price":19.99},', 1024) } },
  { name: "1 KB data, 32 lines", event: { id: ID, data: fill("a line of thirty characters...\n", 1024) } },
  { name: "1 KB data, non-ASCII", event: { id: ID, data: fill("café, naïve, Zürich; ", 1024) } },
  { name: "16 KB data", event: { id: ID, data: fill('{"sku":"A-1234","qty":3,"price":19.99},', 16384) } },
];

const rows: Record<string, string | number>[] = [];
for (const { name, event } of CASES) {
  const frame = Buffer.from(encodeEvent(event));
  if (!naiveFrame(event).equals(frame)) throw new Error(`the baseline writes another frame for ${name}`);
  const encode = measure(() => encodeEvent(event).length);
  const encoder = measure(() => Buffer.from(encodeEvent(event)).length);
  const naive = measure(() => naiveFrame(event).length);
  rows.push({
    event: name,
    "frame B": frame.length,
    "encode ns": roundNs(encode.ns),
    "encode+buffer ns": roundNs(encoder.ns),
    "±%": percent(encoder.spread),
    "MB/s": mbPerSecond(frame.length, encoder.ns),
    "naive ns": roundNs(naive.ns),
    "naive ±%": percent(naive.spread),
    "naive MB/s": mbPerSecond(frame.length, naive.ns),
    "encoder/naive": Number((encoder.ns / naive.ns).toPrecision(2)),
  });
}

console.log(`SSE encoding, one event (Node ${process.version})`);
console.table(rows);
console.log(`checksum ${checksum()}`);
