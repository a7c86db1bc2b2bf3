import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeEvent, encodeEvent, type SseFields } from "./sse-encoder.ts";
import { type SseEvent, SseParser } from "./sse-parser.ts";

function parsed(frame: string): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = new SseParser({ onEvent: (event) => events.push(event) });
  parser.push(frame);
  return events;
}

describe("encodeEvent and decodeEvent", () => {
  const cases: [string, SseFields][] = [
    ["plain data", { id: "1", data: "hello" }],
    ["every field", { id: "urn:uuid:2", type: "update", retry: "5000", data: "x" }],
    ["empty data", { id: "3", data: "" }],
    ["several lines", { id: "4", data: "one\ntwo\n\nfour" }],
    ["lines that look like fields", { id: "5", data: "id: forged\nevent: forged\nretry: 1\n: comment" }],
    ["a trailing line break", { id: "6", data: "last\n" }],
  ];
  for (const [name, fields] of cases) {
    it(`round-trips ${name}, and a browser's parser reads the same event`, () => {
      const frame = encodeEvent(fields);
      assert.deepEqual(decodeEvent(frame), { type: undefined, retry: undefined, ...fields });
      const [event, ...rest] = parsed(frame);
      assert.deepEqual(rest, []);
      assert.equal(event?.data, fields.data);
      assert.equal(event?.id, fields.id);
      assert.equal(event?.type, fields.type ?? "message");
    });
  }

  it("writes CR and CRLF as separate lines, which come back as LF", () => {
    const frame = encodeEvent({ id: "7", data: "a\r\nb\rc" });
    assert.equal(frame, "id: 7\ndata: a\ndata: b\ndata: c\n\n");
    assert.equal(decodeEvent(frame).data, "a\nb\nc");
  });
});
