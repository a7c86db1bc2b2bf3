import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Hub } from "../src/hub/hub.ts";
import { createUpdate } from "../src/hub/update.ts";
import { compileMatcher } from "../src/matching/compile.ts";
import { SseParser } from "../src/protocol/sse-parser.ts";
import { MemoryTransport } from "../src/transports/memory.ts";
import { openRawStream } from "./helpers/raw-stream.ts";
import { Random } from "./helpers/seeded-random.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

/** The id of every event in a stream's body. */
function eventIds(body: string): string[] {
  const ids: string[] = [];
  const parser = new SseParser({ onEvent: (event) => ids.push(event.id) });
  parser.push(body);
  return ids;
}

/** Ties a hub to a publisher token, and closes every stream opened through it. */
class Fixture {
  readonly hub: TestHub;
  readonly #token: string;
  readonly #streams: Stream[] = [];
  #topics = 0;

  private constructor(hub: TestHub, token: string) {
    this.hub = hub;
    this.#token = token;
  }

  static async start(flags: Record<string, string | boolean> = {}): Promise<Fixture> {
    const hub = await startTestHub({ anonymous: true, ...flags });
    return new Fixture(hub, await hub.token({ publish: ["*"] }));
  }

  /** A topic no other test publishes to. */
  topic(): string {
    return `https://example.com/history/${++this.#topics}`;
  }

  /** Publishes and returns the id. */
  async send(
    topics: string | string[],
    options: { id?: string; private?: boolean; data?: string } = {},
  ): Promise<string> {
    const fields: [string, string][] = (Array.isArray(topics) ? topics : [topics]).map((t) => ["topic", t]);
    fields.push(["data", options.data ?? "x"]);
    if (options.id !== undefined) fields.push(["id", options.id]);
    if (options.private === true) fields.push(["private", "on"]);
    const result = await publish(this.hub, fields, { token: this.#token });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  async subscribe(
    parameters: [string, string][],
    options: { lastEventId?: string; token?: string } = {},
  ): Promise<Stream> {
    const headers: Record<string, string> = {};
    if (options.lastEventId !== undefined) headers["Last-Event-ID"] = options.lastEventId;
    if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
    const stream = await openStream(subscribeUrl(this.hub.hubUrl, parameters), { headers });
    this.#streams.push(stream);
    assert.equal(stream.status, 200, stream.status === 200 ? "" : await stream.body);
    return stream;
  }

  /**
   * Asserts that each stream receives exactly `ids` and nothing else: a marker published on
   * `topic` afterwards must be the very next event. Returns the marker's id.
   */
  async expectExactly(streams: Stream | Stream[], ids: string[], topic: string): Promise<string> {
    const marker = await this.send(topic);
    for (const stream of Array.isArray(streams) ? streams : [streams]) {
      const events = await stream.waitForEvents(ids.length + 1);
      assert.deepEqual(
        events.map((event) => event.id),
        [...ids, marker],
      );
    }
    return marker;
  }

  async close(): Promise<void> {
    for (const stream of this.#streams) stream.close();
    await this.hub.close();
  }
}

describe("history and reconnection", () => {
  let f: Fixture;
  before(async () => {
    f = await Fixture.start();
  });
  after(() => f.close());

  it("replays what followed the Last-Event-ID header, and echoes it in Mercure-Last-Event-ID", async () => {
    const topic = f.topic();
    const ids = [await f.send(topic), await f.send(topic), await f.send(topic)];
    const stream = await f.subscribe([["match", topic]], { lastEventId: ids[0]! });
    assert.equal(stream.headers["mercure-last-event-id"], ids[0]);
    await f.expectExactly(stream, ids.slice(1), topic);
  });

  it("replays what followed the last_event_id query parameter", async () => {
    const topic = f.topic();
    const ids = [await f.send(topic), await f.send(topic), await f.send(topic)];
    const stream = await f.subscribe([
      ["match", topic],
      ["last_event_id", ids[1]!],
    ]);
    assert.equal(stream.headers["mercure-last-event-id"], ids[1]);
    await f.expectExactly(stream, ids.slice(2), topic);
  });

  it("prefers the Last-Event-ID header over the last_event_id query parameter", async () => {
    const topic = f.topic();
    const ids = [await f.send(topic), await f.send(topic), await f.send(topic)];
    const stream = await f.subscribe(
      [
        ["match", topic],
        ["last_event_id", ids[0]!],
      ],
      { lastEventId: ids[1]! },
    );
    assert.equal(stream.headers["mercure-last-event-id"], ids[1]);
    await f.expectExactly(stream, ids.slice(2), topic);
  });

  it("treats an empty Last-Event-ID header as no header, falling back to the query parameter", async () => {
    const topic = f.topic();
    const ids = [await f.send(topic), await f.send(topic), await f.send(topic)];
    const stream = await f.subscribe(
      [
        ["match", topic],
        ["last_event_id", ids[1]!],
      ],
      { lastEventId: "" },
    );
    assert.equal(stream.headers["mercure-last-event-id"], ids[1]);
    await f.expectExactly(stream, ids.slice(2), topic);
  });

  it("sends no Mercure-Last-Event-ID and replays nothing without a cursor", async () => {
    const topic = f.topic();
    await f.send(topic);
    for (const parameters of [
      [["match", topic]],
      [
        ["match", topic],
        ["last_event_id", ""],
      ],
    ] as [string, string][][]) {
      const stream = await f.subscribe(parameters);
      assert.equal(stream.headers["mercure-last-event-id"], undefined);
      await f.expectExactly(stream, [], topic);
    }
  });

  it("replays everything kept for earliest, answering earliest", async () => {
    const topic = f.topic();
    const other = f.topic();
    const ids = [await f.send(topic), await f.send(other), await f.send(topic)];
    const stream = await f.subscribe([
      ["match", topic],
      ["last_event_id", "earliest"],
    ]);
    assert.equal(stream.headers["mercure-last-event-id"], "earliest");
    await f.expectExactly(stream, [ids[0]!, ids[2]!], topic);
  });

  it("answers earliest for an unknown cursor and replays from the oldest update kept", async () => {
    const topic = f.topic();
    const ids = [await f.send(topic), await f.send(topic)];
    const stream = await f.subscribe([["match", topic]], { lastEventId: "urn:uuid:never-published" });
    assert.equal(stream.headers["mercure-last-event-id"], "earliest");
    await f.expectExactly(stream, ids, topic);
  });

  it("filters the replay by the subscriber's matchers, once per update", async () => {
    const start = await f.send("https://example.com/history/filter/start");
    const books = [
      await f.send("https://example.com/history/filter/books/1"),
      await f.send("https://example.com/history/filter/authors/1"),
      await f.send([
        "https://example.com/history/filter/books/2",
        "https://example.com/history/filter/authors/2",
      ]),
      await f.send("https://example.com/history/filter/other"),
      await f.send("https://example.com/history/filter/books/3"),
    ];
    const stream = await f.subscribe(
      [
        ["match_urlpattern", "https://example.com/history/filter/books/:id"],
        ["match_urlpattern", "https://example.com/history/filter/*"],
        ["match", "https://example.com/history/filter/books/2"],
      ],
      { lastEventId: start },
    );
    // The marker is not a book: the narrower subscriber below does not replay it.
    await f.expectExactly(stream, books, "https://example.com/history/filter/marker");
    const narrow = await f.subscribe([["match_urlpattern", "https://example.com/history/filter/books/:id"]], {
      lastEventId: start,
    });
    await f.expectExactly(
      narrow,
      [books[0]!, books[2]!, books[4]!],
      "https://example.com/history/filter/books/marker",
    );
  });

  describe("authorization of replayed updates", () => {
    const p1 = "https://example.com/history/private/1";
    const p2 = "https://example.com/history/private/2";
    const pub = "https://example.com/history/private/public";

    /** Publishes a fresh set of updates; `start` is the cursor just before them. */
    async function publishSet() {
      const start = await f.send("https://example.com/history/private/start");
      return {
        start,
        p1: await f.send(p1, { private: true }),
        p2: await f.send(p2, { private: true }),
        pub: await f.send(pub),
        // Private, with p1 as an alternate topic: readable with a grant on either topic.
        both: await f.send([p2, p1], { private: true }),
      };
    }

    it("replays a private update only to a token granting subscribe on one of its topics", async () => {
      const ids = await publishSet();
      const token = await f.hub.token({ subscribe: [p1] });
      const stream = await f.subscribe([["match", "*"]], { lastEventId: ids.start, token });
      await f.expectExactly(stream, [ids.p1, ids.pub, ids.both], pub);
    });

    it("checks URL Pattern grants too", async () => {
      const ids = await publishSet();
      const token = await f.hub.token({ subscribeUrlPattern: ["https://example.com/history/private/:n"] });
      const stream = await f.subscribe([["match", "*"]], { lastEventId: ids.start, token });
      await f.expectExactly(stream, [ids.p1, ids.p2, ids.pub, ids.both], pub);
    });

    it("replays public updates only to an anonymous subscriber", async () => {
      const ids = await publishSet();
      const stream = await f.subscribe([["match", "*"]], { lastEventId: ids.start });
      await f.expectExactly(stream, [ids.pub], pub);
    });

    it("replays public updates only to a token granting other topics", async () => {
      const ids = await publishSet();
      const token = await f.hub.token({ subscribe: ["https://example.com/elsewhere"] });
      const stream = await f.subscribe([["match", "*"]], { lastEventId: ids.start, token });
      await f.expectExactly(stream, [ids.pub], pub);
    });

    it("needs both a matcher selecting the update and a grant to read it", async () => {
      const ids = await publishSet();
      // Matchers select p2, the token reads p1: only the update on both topics passes both.
      const token = await f.hub.token({ subscribe: [p1] });
      const stream = await f.subscribe(
        [
          ["match", p2],
          ["match", pub],
        ],
        { lastEventId: ids.start, token },
      );
      await f.expectExactly(stream, [ids.pub, ids.both], pub);
    });
  });
});

/** A header value as Node hands it over (one character per byte) read back as UTF-8. */
function utf8(header: string | string[] | undefined): string | undefined {
  return typeof header === "string" ? Buffer.from(header, "latin1").toString("utf8") : undefined;
}

/**
 * The value of header `name` in a raw response head, as the bytes that went over the wire (the
 * head is kept one character per byte).
 */
function headBytes(head: string, name: string): Buffer | undefined {
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (line.slice(0, colon).toLowerCase() === name.toLowerCase()) {
      return Buffer.from(line.slice(colon + 1).trim(), "latin1");
    }
  }
  return undefined;
}

describe("ids outside Latin-1 as cursors", () => {
  let f: Fixture;
  before(async () => {
    f = await Fixture.start();
  });
  after(() => f.close());

  /** Ids beyond Latin-1, one beyond the BMP, and one with the characters a quoted-string escapes. */
  async function history(topic: string): Promise<string[]> {
    return [
      await f.send(topic, { id: `日本-${topic}` }),
      await f.send(topic, { id: `📚 "b\\c" ${topic}` }),
      await f.send(topic, { id: `日本-${topic}-3` }),
    ];
  }

  it("replays what followed last_event_id=日本-1, answering the id's UTF-8 bytes in Mercure-Last-Event-ID", async () => {
    const topic = f.topic();
    const ids = await history(topic);
    const stream = await f.subscribe([
      ["match", topic],
      ["last_event_id", ids[0]!],
    ]);
    assert.equal(utf8(stream.headers["mercure-last-event-id"]), ids[0]);
    await f.expectExactly(stream, ids.slice(1), topic);
  });

  it("replays what followed a Last-Event-ID header sent as the id's UTF-8 bytes, as EventSource sends it", async () => {
    for (const position of [0, 1]) {
      const topic = f.topic();
      const ids = await history(topic);
      const cursor = ids[position]!;
      // The raw socket writes the request as UTF-8: the header goes out as the id's UTF-8 bytes.
      const raw = await openRawStream(subscribeUrl(f.hub.hubUrl, [["match", topic]]), {
        headers: { "Last-Event-ID": cursor },
      });
      try {
        await raw.until((stream) => stream.head !== undefined);
        assert.match(raw.head!, /^HTTP\/1\.1 200 /);
        assert.deepEqual(headBytes(raw.head!, "Mercure-Last-Event-ID"), Buffer.from(cursor, "utf8"));
        const marker = await f.send(topic);
        await raw.until((stream) => stream.body().includes(`id: ${marker}\n`));
        assert.deepEqual(eventIds(raw.body()), [...ids.slice(position + 1), marker]);
      } finally {
        raw.close();
      }
    }
  });

  it("never answers 500 to a cursor: bytes that are not UTF-8 are an unknown cursor, answered earliest", async () => {
    const topic = f.topic();
    // An id that a lenient decoder would make of any invalid byte: strict decoding must not find it.
    const replacement = await f.send(topic, { id: "\uFFFD" });
    const ids = [replacement, ...(await history(topic))];
    const base = subscribeUrl(f.hub.hubUrl, [["match", topic]]);
    const cases: [string, string, Record<string, string>][] = [
      ["a lone surrogate, percent-encoded", `${base}&last_event_id=%ED%A0%80`, {}],
      ["a byte 0xFF, percent-encoded", `${base}&last_event_id=%FF`, {}],
      ["a truncated four-byte sequence", `${base}&last_event_id=%F0%9F%93`, {}],
      ["Latin-1 bytes, percent-encoded", `${base}&last_event_id=%E9t%E9`, {}],
      // node:http writes header values one byte per character: these go out as bytes 0x80-0xFF.
      ["header bytes 0x80-0xFF", base, { "Last-Event-ID": "\x80\xff\xc3" }],
      ["a header holding a lone surrogate's bytes", base, { "Last-Event-ID": "\xed\xa0\x80" }],
      ["a header holding an overlong encoding", base, { "Last-Event-ID": "\xc0\xaf" }],
    ];
    for (const [what, url, headers] of cases) {
      const stream = await openStream(url, { headers });
      try {
        assert.equal(stream.status, 200, `${what}: ${stream.status === 200 ? "" : await stream.body}`);
        assert.equal(stream.headers["mercure-last-event-id"], "earliest", what);
        const events = await stream.waitForEvents(ids.length);
        assert.deepEqual(
          events.map((event) => event.id),
          ids,
          what,
        );
      } finally {
        stream.close();
      }
    }
  });

  it("answers random cursors, in the query or the header, with 200 and the id or earliest", async () => {
    const topic = f.topic();
    const ids = await history(topic);
    const base = subscribeUrl(f.hub.hubUrl, [["match", topic]]);
    const random = new Random(0x5eed);
    for (let round = 0; round < 40; round++) {
      // A known id a quarter of the time; else bytes, half of them 0x80-0xFF (mostly not UTF-8).
      const known = random.chance(0.25) ? random.pick(ids) : undefined;
      const bytes =
        known !== undefined
          ? Buffer.from(known)
          : Buffer.from(
              Array.from({ length: 1 + random.int(24) }, () =>
                random.chance(0.5) ? 0x80 + random.int(0x80) : 0x21 + random.int(0x5e),
              ),
            );
      const inHeader = random.chance(0.5);
      const what = `round ${round}: ${bytes.toString("hex")} in the ${inHeader ? "header" : "query"}`;
      const stream = inHeader
        ? await openStream(base, { headers: { "Last-Event-ID": bytes.toString("latin1") } })
        : await openStream(
            `${base}&last_event_id=${[...bytes].map((byte) => `%${byte.toString(16)}`).join("")}`,
          );
      try {
        assert.equal(stream.status, 200, what);
        assert.equal(utf8(stream.headers["mercure-last-event-id"]), known ?? "earliest", what);
      } finally {
        stream.close();
      }
    }
  });

  it("finds a long id beyond the BMP given as a cursor, in the query and in the header", async () => {
    const topic = f.topic();
    // 4.8 kB of UTF-8, 14.4 kB percent-encoded: under max-field-bytes and Node's 16 KiB of headers.
    const long = `${"🦀".repeat(1200)}-${topic}`;
    const ids = [await f.send(topic, { id: long }), await f.send(topic)];
    const query = await f.subscribe([
      ["match", topic],
      ["last_event_id", long],
    ]);
    assert.equal(utf8(query.headers["mercure-last-event-id"]), long);
    const header = await f.subscribe([["match", topic]], {
      lastEventId: Buffer.from(long).toString("latin1"),
    });
    assert.equal(utf8(header.headers["mercure-last-event-id"]), long);
    await f.expectExactly([query, header], ids.slice(1), topic);
  });

  it("bounds the cursor by the headers' size: a longer one is refused before the hub reads it", async () => {
    const topic = f.topic();
    const tooLong = "x".repeat(20 * 1024);
    for (const [url, headers] of [
      [
        subscribeUrl(f.hub.hubUrl, [
          ["match", topic],
          ["last_event_id", tooLong],
        ]),
        {},
      ],
      [subscribeUrl(f.hub.hubUrl, [["match", topic]]), { "Last-Event-ID": tooLong }],
    ] as const) {
      const stream = await openStream(url, { headers });
      assert.equal(stream.status, 431);
      stream.close();
    }
  });
});

describe("history limits", () => {
  it("answers earliest when history is empty, for any cursor", async () => {
    const f = await Fixture.start();
    try {
      const topic = f.topic();
      const streams: Stream[] = [];
      for (const cursor of ["urn:uuid:whatever", "earliest"]) {
        const stream = await f.subscribe([["match", topic]], { lastEventId: cursor });
        assert.equal(stream.headers["mercure-last-event-id"], "earliest");
        streams.push(stream);
      }
      await f.expectExactly(streams, [], topic);
    } finally {
      await f.close();
    }
  });

  it("discards the oldest updates beyond history-size, and answers earliest for a discarded cursor", async () => {
    const f = await Fixture.start({ "history-size": "3" });
    try {
      const topic = f.topic();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await f.send(topic));
      // Kept: 2, 3, 4. Every expectExactly publishes a marker, which is kept in turn.
      let stream = await f.subscribe([["match", topic]], { lastEventId: ids[0]! });
      assert.equal(stream.headers["mercure-last-event-id"], "earliest");
      await f.expectExactly(stream, [ids[2]!, ids[3]!, ids[4]!], topic);
      const marker1 = stream.events[3]!.id;
      // Kept: 3, 4, marker 1.
      stream = await f.subscribe([["match", topic]], { lastEventId: ids[2]! });
      assert.equal(stream.headers["mercure-last-event-id"], "earliest");
      await f.expectExactly(stream, [ids[3]!, ids[4]!, marker1], topic);
      const marker2 = stream.events[3]!.id;
      // Kept: 4, marker 1, marker 2: a kept cursor replays what follows it.
      stream = await f.subscribe([["match", topic]], { lastEventId: ids[4]! });
      assert.equal(stream.headers["mercure-last-event-id"], ids[4]);
      await f.expectExactly(stream, [marker1, marker2], topic);
    } finally {
      await f.close();
    }
  });

  it("keeps nothing with history-size 0", async () => {
    const f = await Fixture.start({ "history-size": "0" });
    try {
      const topic = f.topic();
      const id = await f.send(topic);
      await f.send(topic);
      for (const cursor of [id, "earliest"]) {
        const stream = await f.subscribe([["match", topic]], { lastEventId: cursor });
        assert.equal(stream.headers["mercure-last-event-id"], "earliest");
        await f.expectExactly(stream, [], topic);
      }
    } finally {
      await f.close();
    }
  });

  it("resolves a reused id to its earliest occurrence still kept", async () => {
    const f = await Fixture.start({ "history-size": "4" });
    try {
      const topic = f.topic();
      // Two updates that share an id (a repeat of the same update would be acknowledged, not stored).
      await f.send(topic, { id: "reused", data: "first" });
      const x = await f.send(topic);
      await f.send(topic, { id: "reused", data: "second" });
      const y = await f.send(topic);
      // Kept: reused, x, reused, y. The cursor is the first "reused": the second one is replayed.
      let stream = await f.subscribe([["match", topic]], { lastEventId: "reused" });
      assert.equal(stream.headers["mercure-last-event-id"], "reused");
      await f.expectExactly(stream, [x, "reused", y], topic);
      const marker1 = stream.events[3]!.id;
      // Kept: x, reused, y, marker 1. The first "reused" is gone: the cursor is the second one.
      stream = await f.subscribe([["match", topic]], { lastEventId: "reused" });
      assert.equal(stream.headers["mercure-last-event-id"], "reused");
      await f.expectExactly(stream, [y, marker1], topic);
      const marker2 = stream.events[2]!.id;
      // Kept: reused, y, marker 1, marker 2.
      stream = await f.subscribe([["match", topic]], { lastEventId: "reused" });
      assert.equal(stream.headers["mercure-last-event-id"], "reused");
      await f.expectExactly(stream, [y, marker1, marker2], topic);
      const marker3 = stream.events[3]!.id;
      // Kept: y, marker 1, marker 2, marker 3: no "reused" left, the cursor is unknown.
      stream = await f.subscribe([["match", topic]], { lastEventId: "reused" });
      assert.equal(stream.headers["mercure-last-event-id"], "earliest");
      await f.expectExactly(stream, [y, marker1, marker2, marker3], topic);
    } finally {
      await f.close();
    }
  });
});

describe("the seam between replay and live updates", () => {
  const TOTAL = 300;
  const CURSORS = [0, 37, 120, 199, 260, 298];

  it("delivers every update after the cursor exactly once, in order, while publishing goes on", {
    timeout: 60_000,
  }, async () => {
    const f = await Fixture.start({ "history-size": "1000" });
    try {
      const topic = f.topic();
      const ids: string[] = [];
      const streams: { cursor: number; stream: Promise<Stream> }[] = [];
      // 2 KB of data per update: a replay of a few hundred is sent in several slices, each a
      // chance for live updates to arrive in the middle of it.
      const data = "d".repeat(2048);
      for (let i = 0; i < TOTAL; i++) {
        ids.push(await f.send(topic, { data }));
        if (CURSORS.includes(i)) {
          // Not awaited: the subscriber connects and replays while the loop keeps publishing.
          streams.push({ cursor: i, stream: f.subscribe([["match", topic]], { lastEventId: ids[i]! }) });
          streams.push({
            cursor: i,
            stream: f.subscribe([
              ["match", topic],
              ["last_event_id", ids[i]!],
            ]),
          });
        }
      }
      const marker = await f.send(topic);
      for (const { cursor, stream: pending } of streams) {
        const stream = await pending;
        assert.equal(stream.headers["mercure-last-event-id"], ids[cursor]);
        const expected = [...ids.slice(cursor + 1), marker];
        const received = (await stream.waitForEvents(expected.length)).map((event) => event.id);
        assert.equal(new Set(received).size, received.length, `cursor ${cursor}: no duplicate`);
        assert.deepEqual(received, expected, `cursor ${cursor}: every later update, in order`);
      }
      // Nothing after the marker either: one more update is the next event of each stream.
      const last = await f.send(topic);
      for (const { cursor, stream: pending } of streams) {
        const stream = await pending;
        const events = await stream.waitForEvents(TOTAL - cursor + 1);
        assert.equal(
          events.at(-1)!.id,
          last,
          `cursor ${cursor}: nothing after the marker but the last update`,
        );
      }
    } finally {
      await f.close();
    }
  });

  it("holds live updates while a stalled subscriber's replay waits for its socket", {
    timeout: 60_000,
  }, async () => {
    // Room for every update held while the replay waits (the stalled client is not dropped).
    const f = await Fixture.start({ "history-size": "1000", "max-queue-bytes": String(64 * 1024 * 1024) });
    try {
      const topic = f.topic();
      const ids: string[] = [];
      // 64 KB per update: a 9 MB replay outgrows what the kernel buffers for a client that reads
      // nothing (a few MB here), so the hub waits for the socket in the middle of the replay and
      // every update published meanwhile is held until the replay is through.
      const data = "d".repeat(64 * 1024);
      for (let i = 0; i < 150; i++) ids.push(await f.send(topic, { data }));
      const stalled = await openRawStream(
        subscribeUrl(f.hub.hubUrl, [
          ["match", topic],
          ["last_event_id", ids[9]!],
        ]),
        { read: false },
      );
      for (let i = 0; i < 100; i++) ids.push(await f.send(topic, { data }));
      const marker = await f.send(topic);
      stalled.resume();
      // The marker is the last event: look for it at the end only (the body is megabytes long).
      await stalled.until((s) => s.body().slice(-256).includes(`id: ${marker}\n`));
      const received = [...stalled.body().matchAll(/^id: (.*)$/gm)].map((match) => match[1]);
      assert.equal(new Set(received).size, received.length, "no duplicate");
      assert.deepEqual(received, [...ids.slice(10), marker]);
      assert.match(stalled.head ?? "", new RegExp(`^mercure-last-event-id: ${ids[9]}\r?$`, "im"));
      stalled.close();
    } finally {
      await f.close();
    }
  });
});

describe("a replay over a long history", () => {
  it("leaves the event loop to other streams while it scans updates it does not send", async () => {
    const transport = new MemoryTransport({ historySize: 20_000 });
    for (let i = 0; i < 20_000; i++) {
      await transport.publish(
        createUpdate({
          topics: [`https://example.com/other/${i}`],
          data: "x",
          id: undefined,
          type: undefined,
          retry: undefined,
          private: false,
        }),
      );
    }
    const hub = new Hub(transport, {
      heartbeatMs: 60_000,
      writeTimeoutMs: 60_000,
      maxLifetimeMs: 3_600_000,
      maxQueueBytes: 1 << 20,
    });
    const written: Buffer[] = [];
    let live = false;
    const subscribed = hub
      .subscribe({
        matchers: [
          compileMatcher("exact", "https://example.com/wanted", "https://hub.example/", {
            maxPatternLength: 100,
          }),
        ],
        grants: undefined,
        cursor: "earliest",
        sink: {
          start: () => {},
          write: (frames, bytes) => written.push(Buffer.concat(frames, bytes)) > 0,
          onDrain: () => {},
          onClose: () => {},
          end: () => {},
          destroy: () => {},
        },
      })
      .then(() => {
        live = true;
      });
    // One turn of the event loop: a scan of the whole history in that turn would be live by now.
    await new Promise(setImmediate);
    assert.equal(live, false, "the scan gave the event loop back before it finished");
    await subscribed;
    assert.equal(written.length, 1, "only the opening keep-alive: no update matched");
    await hub.close();
  });
});
