import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type SseEvent, SseParser } from "./sse-parser.ts";

const encoder = new TextEncoder();

interface Outcome {
  events: SseEvent[];
  comments: string[];
  retries: number[];
  lastEventId: string;
}

/** Feeds the chunks to a new parser, then ends the stream; records everything reported. */
function run(chunks: ReadonlyArray<Uint8Array | string>, end = true): Outcome {
  const outcome: Outcome = { events: [], comments: [], retries: [], lastEventId: "" };
  const parser = new SseParser({
    onEvent: (event) => outcome.events.push(event),
    onComment: (text) => outcome.comments.push(text),
    onRetry: (ms) => outcome.retries.push(ms),
  });
  for (const chunk of chunks) parser.push(chunk);
  if (end) parser.end();
  outcome.lastEventId = parser.lastEventId;
  return outcome;
}

/**
 * Every way the tests cut an input: whole, in two at every position (including empty chunks at
 * either end), one unit at a time, and in three at every pair of positions for short inputs.
 */
function* chunkings<T extends Uint8Array | string>(input: T): Generator<T[]> {
  const n = input.length;
  const slice = (start: number, end: number) => input.slice(start, end) as T;
  yield [input];
  for (let k = 0; k <= n; k++) yield [slice(0, k), slice(k, n)];
  yield Array.from({ length: n }, (_, k) => slice(k, k + 1));
  if (n <= 40) {
    for (let a = 1; a < n; a++) for (let b = a + 1; b < n; b++) yield [slice(0, a), slice(a, b), slice(b, n)];
  }
}

/**
 * Parses the input whole, then cut every way, as bytes (UTF-8) and as strings, and asserts that
 * every cut gives what the whole input gives; returns that.
 */
function parse(input: string | Uint8Array): Outcome {
  const bytes = typeof input === "string" ? encoder.encode(input) : input;
  const expected = run([bytes]);
  for (const chunks of chunkings(bytes)) {
    assert.deepEqual(run(chunks), expected, `bytes cut as ${JSON.stringify(chunks.map((c) => c.length))}`);
  }
  if (typeof input === "string") {
    for (const chunks of chunkings(input)) {
      assert.deepEqual(run(chunks), expected, `string cut as ${JSON.stringify(chunks)}`);
    }
  }
  return expected;
}

const message = (data: string, id = "", type = "message"): SseEvent => ({ type, data, id });

describe("SseParser: the specification's examples", () => {
  test("multi-line data is joined with LF", () => {
    const { events } = parse("data: YHOO\ndata: +2\ndata: 10\n\n");
    assert.deepEqual(events, [message("YHOO\n+2\n10")]);
  });

  test("comments, id, a field without a colon and data without a space", () => {
    const input =
      ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n";
    const outcome = parse(input);
    assert.deepEqual(outcome.comments, [" test stream"]);
    assert.deepEqual(outcome.events, [
      message("first event", "1"),
      message("second event"),
      message(" third event"),
    ]);
    assert.equal(outcome.lastEventId, "");
  });

  test("empty data fields; the last block is discarded without a blank line after it", () => {
    const { events } = parse("data\n\ndata\ndata\n\ndata:");
    assert.deepEqual(events, [message(""), message("\n")]);
  });

  test("a space after the colon is optional", () => {
    const { events } = parse("data:test\n\ndata: test\n\n");
    assert.deepEqual(events, [message("test"), message("test")]);
  });

  test("event types", () => {
    const { events } = parse(
      "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
    );
    assert.deepEqual(events, [
      message("73857293", "", "add"),
      message("2153", "", "remove"),
      message("113411", "", "add"),
    ]);
  });
});

describe("SseParser: fields", () => {
  test("the id persists across events until changed, and is reported by lastEventId", () => {
    const outcome = parse("id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n");
    assert.deepEqual(outcome.events, [
      message("a", "1"),
      message("b", "1"),
      message("c", "2"),
      message("d", "2"),
    ]);
    assert.equal(outcome.lastEventId, "2");
  });

  test("an empty id field resets the last event ID", () => {
    const outcome = parse("id: 1\ndata: a\n\nid:\ndata: b\n\n");
    assert.deepEqual(outcome.events, [message("a", "1"), message("b", "")]);
    assert.equal(outcome.lastEventId, "");
  });

  test("an id holding NUL is ignored", () => {
    const outcome = parse("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n");
    assert.deepEqual(outcome.events, [message("a", "1"), message("b", "1")]);
    assert.equal(outcome.lastEventId, "1");
  });

  test("a block without data dispatches nothing but still sets the last event ID", () => {
    const outcome = parse("id: 5\n\n");
    assert.deepEqual(outcome.events, []);
    assert.equal(outcome.lastEventId, "5");
    const later = parse("id: 5\nevent: x\n\ndata: y\n\n");
    assert.deepEqual(later.events, [message("y", "5")], "the type is reset with the empty data buffer");
  });

  test("the last event ID changes only at dispatch", () => {
    const parser = new SseParser({ onEvent: () => {} });
    parser.push("id: 1\n\nid: 2\n");
    assert.equal(parser.lastEventId, "1");
    parser.push("\n");
    assert.equal(parser.lastEventId, "2");
  });

  test("the type resets to message after each event", () => {
    const { events } = parse("event: a\ndata: 1\n\ndata: 2\n\nevent\ndata: 3\n\nevent:\ndata: 4\n\n");
    assert.deepEqual(events, [message("1", "", "a"), message("2"), message("3"), message("4")]);
  });

  test("retry is accepted only when it is all ASCII digits", () => {
    const input =
      "retry: 1000\nretry: 1a\nretry: -1\nretry: 1.5\nretry:  7\nretry:\nretry\nretry: ３\nretry: 0\nretry:250\n";
    const outcome = parse(input);
    assert.deepEqual(outcome.retries, [1000, 0, 250]);
    assert.deepEqual(outcome.events, []);
  });

  test("a retry in an event's block is reported on that event only", () => {
    const { events, retries } = parse("retry: 5\ndata: x\n\ndata: y\n\n");
    assert.deepEqual(events, [{ ...message("x"), retry: 5 }, message("y")]);
    assert.deepEqual(retries, [5]);
  });

  test("comments pass the text after the colon and dispatch nothing", () => {
    const outcome = parse(": hello\n:\n::x\n:data: no\n\n");
    assert.deepEqual(outcome.comments, [" hello", "", ":x", "data: no"]);
    assert.deepEqual(outcome.events, []);
  });

  test("only one space is removed, and the value may hold colons", () => {
    const { events } = parse("data:  two\ndata: a:b: c\ndata:\tx\n\n");
    assert.deepEqual(events, [message(" two\na:b: c\n\tx")]);
  });

  test("unknown fields and field names in another case are kept in fields, not acted on", () => {
    const { events } = parse("foo: bar\nData: no\nDATA\ndata: yes\n id: 9\n\n");
    const fields = Object.assign(Object.create(null), { foo: "bar", Data: "no", DATA: "", " id": "9" });
    assert.deepEqual(events, [{ ...message("yes"), fields }]);
  });

  test("an extension field is reported on its own event only, its last occurrence winning", () => {
    const { events } = parse("matchers: 0\nmatchers: 0 2\ndata: a\n\ndata: b\n\n__proto__: x\ndata: c\n\n");
    assert.deepEqual(
      events.map((event) => (event.fields === undefined ? undefined : { ...event.fields })),
      [{ matchers: "0 2" }, undefined, { ["__proto__"]: "x" }],
    );
    assert.equal(Object.getPrototypeOf(events[2]!.fields), null, "a field named __proto__ is data");
  });

  test("events are dispatched only at a blank line", () => {
    const events: SseEvent[] = [];
    const parser = new SseParser({ onEvent: (event) => events.push(event) });
    parser.push("data: a\n");
    parser.push("data: b");
    assert.equal(events.length, 0);
    parser.push("\n");
    assert.equal(events.length, 0);
    parser.push("\n");
    assert.deepEqual(events, [message("a\nb")]);
  });

  test("an incomplete final event is discarded at the end", () => {
    assert.deepEqual(parse("data: a\n\ndata: b\n").events, [message("a")]);
    assert.deepEqual(parse("data: a\n\ndata: b").events, [message("a")]);
    assert.deepEqual(parse("id: 3\ndata: a\n").lastEventId, "");
    assert.deepEqual(parse("data: a\n\nretry: 5").retries, [], "an unterminated line is not a field");
  });
});

describe("SseParser: line endings", () => {
  test("CR-only line endings", () => {
    assert.deepEqual(parse("data: a\rdata: b\r\rdata: c\r\r").events, [message("a\nb"), message("c")]);
  });

  test("CRLF line endings", () => {
    assert.deepEqual(parse("data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n").events, [
      message("a\nb"),
      message("c"),
    ]);
  });

  test("mixed line endings; LF CR is two breaks", () => {
    assert.deepEqual(parse("data: a\ndata: b\r\ndata: c\rdata: d\n\r").events, [message("a\nb\nc\nd")]);
  });

  test("a CR at the end of a chunk and an LF at the start of the next are one break", () => {
    const events: SseEvent[] = [];
    const parser = new SseParser({ onEvent: (event) => events.push(event) });
    parser.push("data: a\r");
    parser.push("\n");
    parser.push("data: b\r");
    parser.push("");
    parser.push(encoder.encode("\ndata: c\r\n"));
    assert.equal(events.length, 0, "no blank line yet");
    parser.push("\r");
    assert.deepEqual(events, [message("a\nb\nc")], "dispatched at the CR, without waiting for an LF");
    parser.push("\ndata: d\r\n\r\n");
    assert.deepEqual(events, [message("a\nb\nc"), message("d")]);
  });

  test("CR CR LF is two breaks", () => {
    assert.deepEqual(parse("data: a\r\r\ndata: b\r\r\n").events, [message("a"), message("b")]);
  });
});

describe("SseParser: decoding", () => {
  test("one leading BOM is skipped", () => {
    assert.deepEqual(parse("\uFEFFdata: a\n\n").events, [message("a")]);
    assert.deepEqual(parse(new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode("data: a\n\n")])).events, [
      message("a"),
    ]);
  });

  test("a second BOM is part of the first field name", () => {
    assert.deepEqual(parse("\uFEFF\uFEFFdata: a\n\ndata: b\n\n").events, [message("b")]);
  });

  test("a BOM elsewhere is kept", () => {
    assert.deepEqual(parse("data: \uFEFFa\n\n\uFEFFdata: b\n\n").events, [message("\uFEFFa")]);
  });

  test("multi-byte UTF-8 characters split across chunks", () => {
    assert.deepEqual(parse("data: é€𝄞\n\nevent: ü\ndata: 😀\n\n").events, [
      message("é€𝄞"),
      message("😀", "", "ü"),
    ]);
    const events: SseEvent[] = [];
    const parser = new SseParser({ onEvent: (event) => events.push(event) });
    parser.push("data: ");
    for (const byte of encoder.encode("𝄞")) parser.push(new Uint8Array([byte]));
    parser.push("\n\n");
    assert.deepEqual(events, [message("𝄞")]);
  });

  test("invalid UTF-8 becomes U+FFFD", () => {
    const bytes = new Uint8Array([...encoder.encode("data: "), 0xff, 0x61, 0xc3, ...encoder.encode("\n\n")]);
    assert.deepEqual(parse(bytes).events, [message("\uFFFDa\uFFFD")]);
  });

  test("text after an incomplete UTF-8 sequence flushes it as U+FFFD", () => {
    const events: SseEvent[] = [];
    const parser = new SseParser({ onEvent: (event) => events.push(event) });
    parser.push(new Uint8Array([...encoder.encode("data: "), 0xe2, 0x82]));
    parser.push("x\n\n");
    assert.deepEqual(events, [message("\uFFFDx")]);
  });
});

describe("SseParser: end and reuse", () => {
  test("after end, the next stream starts clean but keeps the last event ID", () => {
    const events: SseEvent[] = [];
    const parser = new SseParser({ onEvent: (event) => events.push(event) });
    parser.push("id: 7\ndata: a\n\nid: 8\nevent: x\ndata: lost\ndata: lo");
    parser.end();
    parser.push("\uFEFFdata: b\n\n");
    assert.deepEqual(events, [message("a", "7"), message("b", "7")]);
    assert.equal(parser.lastEventId, "7");
  });

  test("a CR ending one stream does not swallow an LF starting the next", () => {
    const events: SseEvent[] = [];
    const parser = new SseParser({ onEvent: (event) => events.push(event) });
    parser.push("data: a\r");
    parser.end();
    parser.push("\ndata: b\n\n");
    assert.deepEqual(events, [message("b")]);
  });

  test("an incomplete UTF-8 sequence at the end does not leak into the next stream", () => {
    const events: SseEvent[] = [];
    const parser = new SseParser({ onEvent: (event) => events.push(event) });
    parser.push(new Uint8Array([0xe2, 0x82]));
    parser.end();
    parser.push(new Uint8Array([0xac, ...encoder.encode("data: b\n\n")]));
    assert.deepEqual(events, [], "0xAC starts the field name, so the data field is unknown");
    parser.push("data: c\n\n");
    assert.deepEqual(events, [message("c")]);
  });
});

describe("SseParser: chunking helper", () => {
  test("covers every cut point and single units", () => {
    const cuts = [...chunkings("abcd")].map((chunks) => chunks.join("|"));
    for (const expected of ["abcd", "|abcd", "a|bcd", "abc|d", "abcd|", "a|b|c|d", "a|bc|d"]) {
      assert.ok(cuts.includes(expected), expected);
    }
  });
});
