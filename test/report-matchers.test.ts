import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openRawStream, type RawStream } from "./helpers/raw-stream.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

/** The events of a stream's body, each as its field lines (comments and keep-alives left out). */
function eventsOf(stream: RawStream): Map<string, string>[] {
  return stream
    .body()
    .split("\n\n")
    .map((block) => block.split("\n").filter((line) => line !== "" && !line.startsWith(":")))
    .filter((lines) => lines.length > 0)
    .map(
      (lines) =>
        new Map(lines.map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)])),
    );
}

async function eventsWhen(stream: RawStream, count: number): Promise<Map<string, string>[]> {
  await stream.until(() => eventsOf(stream).length >= count);
  return eventsOf(stream);
}

describe("report_matchers: which matchers an event matched, and whether it is private", () => {
  let hub: TestHub;
  let publisher: string;
  let subscriber: string;
  const streams: RawStream[] = [];
  const topic = (name: string) => `https://example.com/books/${name}`;

  before(async () => {
    hub = await startTestHub({ legacy: true });
    publisher = await hub.token({ publish: ["*"] });
    subscriber = await hub.token({ subscribe: [topic("private")] });
  });
  after(async () => {
    for (const stream of streams) stream.close();
    await hub.close();
  });

  async function open(query: [string, string][]): Promise<RawStream> {
    const url = new URL(hub.hubUrl);
    for (const [name, value] of query) url.searchParams.append(name, value);
    const stream = await openRawStream(url.href, { headers: { Authorization: `Bearer ${subscriber}` } });
    streams.push(stream);
    await stream.until((s) => s.head !== undefined);
    return stream;
  }

  async function send(fields: Record<string, string> | [string, string][]): Promise<string> {
    const result = await publish(hub, fields, { token: publisher });
    assert.equal(result.status, 200);
    return result.body;
  }

  it("names, by their place in the request, the matchers each event matched, live and replayed", async () => {
    const first = await send({ topic: topic("1"), data: "before" });
    const query: [string, string][] = [
      ["match", topic("1")],
      ["match_urlpattern", "https://example.com/books/:id"],
      ["match", topic("1")], // a duplicate: reported by its first occurrence's index
      ["match", topic("2")],
      ["report_matchers", "1"],
      ["last_event_id", "earliest"],
    ];
    const stream = await open(query);
    assert.match(stream.head!, /\r\nquicksilver-matchers: reported\r\n/i);
    const replayed = await eventsWhen(stream, 1);
    assert.deepEqual(Object.fromEntries(replayed[0]!), { matchers: "0 1", id: first, data: "before" });

    await send({ topic: topic("2"), data: "two" });
    await send([
      ["topic", "https://example.com/other"],
      ["topic", topic("2")],
      ["data", "alternate"],
    ]);
    await send({ topic: topic("private"), data: "secret", private: "on" });
    const events = await eventsWhen(stream, 4);
    assert.deepEqual(
      events.slice(1).map((event) => [event.get("data"), event.get("matchers"), event.get("private")]),
      [
        ["two", "1 3", undefined],
        ["alternate", "1 3", undefined],
        ["secret", "1", "1"],
      ],
    );
  });

  it("reports legacy topic= selectors the same way", async () => {
    const stream = await open([
      ["topic", "https://example.com/books/{id}"],
      ["topic", topic("9")],
      ["report_matchers", "1"],
    ]);
    await send({ topic: topic("9"), data: "nine" });
    await send({ topic: topic("10"), data: "ten" });
    const events = await eventsWhen(stream, 2);
    assert.deepEqual(
      events.map((event) => [event.get("data"), event.get("matchers")]),
      [
        ["nine", "0 1"],
        ["ten", "0"],
      ],
    );
  });

  it("adds nothing unless asked", async () => {
    const stream = await open([["match", topic("plain")]]);
    assert.doesNotMatch(stream.head!, /quicksilver-matchers/i);
    await send({ topic: topic("plain"), data: "plain" });
    const events = await eventsWhen(stream, 1);
    assert.deepEqual([...events[0]!.keys()], ["id", "data"]);
  });
});
