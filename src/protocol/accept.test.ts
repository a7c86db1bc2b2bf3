import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { acceptsEventStream } from "./accept.ts";

describe("acceptsEventStream", () => {
  const accepted: (string | undefined)[] = [
    undefined,
    "",
    " , ",
    "text/event-stream",
    "TEXT/Event-Stream",
    "text/event-stream; charset=utf-8",
    "*/*",
    "text/*",
    "application/json, */*;q=0.1",
    "application/json, text/*",
    "application/json,text/event-stream;q=0.5",
    "text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8",
    "text/event-stream;q=1.000",
    "text/event-stream;Q=0.001",
    "text/event-stream;q=.5",
    "*/*, text/event-stream;q=0, text/event-stream;q=1",
    "text/*;q=0, text/event-stream",
    "*/*;q=0, text/*",
    'application/json;profile="a,b;c", text/event-stream',
    'text/event-stream;foo="x;q=0"',
    "garbage, text/event-stream",
    "text/event-stream;q=2, */*",
  ];
  for (const header of accepted) {
    test(`accepts the stream for ${JSON.stringify(header)}`, () => {
      assert.equal(acceptsEventStream(header), true);
    });
  }

  const refused = [
    "application/json",
    "text/html",
    "text/plain, application/*",
    "text/event-stream;q=0",
    "text/event-stream; q=0.000",
    "TEXT/EVENT-STREAM;Q=0",
    "*/*, text/event-stream;q=0",
    "text/*, text/event-stream;q=0",
    "*/*;q=0",
    "text/*;q=0",
    "*/*;q=0.5, text/*;q=0",
    "garbage",
    "text",
    "text/event-stream;q=2",
    "text/event-stream;q=abc",
    "*/event-stream",
    'application/json;profile="text/event-stream, */*"',
  ];
  for (const header of refused) {
    test(`refuses the stream for ${JSON.stringify(header)}`, () => {
      assert.equal(acceptsEventStream(header), false);
    });
  }
});
