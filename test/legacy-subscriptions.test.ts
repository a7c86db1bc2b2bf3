/**
 * Active subscriptions in the legacy dialect: the old hub's subscription events for `topic=`
 * subscriptions (JSON-LD, no SSE event type, `{hub}/subscriptions/{topic}/{subscriber}`) and its
 * subscription API, beside the draft-08 events and API on the same hub.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { SseEvent } from "../src/protocol/sse-parser.ts";
import { legacyToken, startLegacyHub } from "./helpers/legacy.ts";
import { type ResponseWatcher, watchSubscribeResponses } from "./helpers/server-streams.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import type { TestHub } from "./helpers/test-hub.ts";

const HUB_PATH = "/.well-known/mercure";
const SUBS = `${HUB_PATH}/subscriptions`;
/** The legacy selector of every legacy subscription event, as the old hub's docs give it. */
const LEGACY_WATCH = `${SUBS}/{topic}/{subscriber}`;
const CONTEXT = "https://mercure.rocks/";
const BOOKS = "https://example.com/books/{id}";
const UUID_IRI = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface LegacyDoc {
  "@context"?: string;
  id: string;
  type: string;
  topic: string;
  subscriber: string;
  active: boolean;
  payload?: unknown;
}

interface ModernDoc {
  id: string;
  type: string;
  match_type: string;
  match: string;
  subscriber: string;
  active: boolean;
  payload?: unknown;
}

/**
 * RFC 6570 simple string expansion of one value, written independently of the hub: UTF-8, then
 * every byte outside the unreserved set percent-encoded (upper-case hex), `%` included.
 */
function expand(value: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const character = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(character)
      ? character
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function legacyTopicOf(topic: string, subscriber: string): string {
  return `${SUBS}/${expand(topic)}/${expand(subscriber)}`;
}

/** Legacy subscription events: no `event:` field, so the SSE type is `message`. */
function legacyDocs(stream: Stream): LegacyDoc[] {
  return stream.events.filter(isLegacyEvent).map((event) => JSON.parse(event.data) as LegacyDoc);
}

function isLegacyEvent(event: SseEvent): boolean {
  return event.type === "message" && (JSON.parse(event.data) as { type?: string }).type === "Subscription";
}

/** Waits for the first event satisfying `predicate` (scanning from the start). */
async function waitForEvent(stream: Stream, predicate: (event: SseEvent) => boolean): Promise<SseEvent> {
  for (let n = 0; ; n++) {
    const event = (await stream.waitForEvents(n + 1))[n]!;
    if (predicate(event)) return event;
  }
}

function waitForLegacyDoc(stream: Stream, predicate: (doc: LegacyDoc) => boolean): Promise<SseEvent> {
  return waitForEvent(
    stream,
    (event) => isLegacyEvent(event) && predicate(JSON.parse(event.data) as LegacyDoc),
  );
}

interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, checked by the tests
  readonly json: any;
}

/** A hub with `--legacy --subscriptions`, and the streams opened through it (closed at the end). */
class Fixture {
  readonly hub: TestHub;
  readonly #streams: Stream[] = [];
  readonly #responses: ResponseWatcher;
  #markers = 0;

  constructor(hub: TestHub) {
    this.hub = hub;
    this.#responses = watchSubscribeResponses(hub.server);
  }

  async open(parameters: [string, string][], token: string): Promise<Stream> {
    const stream = await openStream(subscribeUrl(this.hub.hubUrl, parameters), {
      headers: { Authorization: `Bearer ${token}` },
    });
    this.#streams.push(stream);
    assert.equal(stream.status, 200, stream.status === 200 ? "" : await stream.body);
    return stream;
  }

  /** Closes a stream from the client's side and waits until the hub has forgotten it. */
  async leave(stream: Stream): Promise<void> {
    const closed = this.#responses.closed;
    stream.close();
    await this.#responses.waitForClosed(closed + 1);
  }

  /** A legacy watcher: `topic=…/subscriptions/{topic}/{subscriber}`, its own event received. */
  async legacyWatcher(): Promise<Stream> {
    const stream = await this.open(
      [["topic", LEGACY_WATCH]],
      await legacyToken({ subscribe: [LEGACY_WATCH] }),
    );
    await waitForLegacyDoc(stream, (doc) => doc.topic === LEGACY_WATCH && doc.active);
    return stream;
  }

  /** A draft-08 watcher of the whole namespace, which sees the events of both dialects. */
  async modernWatcher(): Promise<Stream> {
    const stream = await this.open(
      [["match_urlpattern", `${SUBS}/*`]],
      await this.hub.token({ subscribe: ["*"] }),
    );
    await waitForEvent(stream, (event) => event.type === "mercure");
    return stream;
  }

  /**
   * Opens one more legacy subscription and returns the legacy documents `watcher` received up to
   * its start, which is the next event after everything dispatched before: an ordered marker.
   */
  async mark(watcher: Stream): Promise<LegacyDoc[]> {
    const topic = `https://example.com/marker/${++this.#markers}`;
    await this.open([["topic", topic]], await legacyToken({}));
    await waitForLegacyDoc(watcher, (doc) => doc.topic === topic);
    const list = legacyDocs(watcher);
    return list.slice(0, list.findIndex((doc) => doc.topic === topic) + 1);
  }

  async get(path: string, token: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const response = await fetch(new URL(path, this.hub.origin), {
      headers: { Authorization: `Bearer ${token}`, ...headers },
    });
    const text = await response.text();
    const type = response.headers.get("content-type") ?? "";
    const json = /json/.test(type) && text !== "" ? JSON.parse(text) : undefined;
    return { status: response.status, headers: response.headers, text, json };
  }

  async close(): Promise<void> {
    this.#responses.stop();
    for (const stream of this.#streams) stream.close();
    await this.hub.close();
  }
}

/** Fixtures not closed yet: a test that timed out waiting for an event leaves its own open. */
const live = new Set<Fixture>();
after(async () => {
  for (const f of live) await f.close();
});

async function withFixture(run: (f: Fixture) => Promise<void>): Promise<void> {
  const f = new Fixture(await startLegacyHub({ subscriptions: true }));
  live.add(f);
  try {
    await run(f);
  } finally {
    live.delete(f);
    await f.close();
  }
}

/** `[topic, active]` of documents, to compare sequences readably. */
const states = (list: LegacyDoc[]) => list.map((doc) => [doc.topic, doc.active]);

describe("legacy subscription events", { timeout: 30_000 }, () => {
  it("announces a topic= subscription's start and end to a legacy watcher, in the old hub's shape", async () => {
    await withFixture(async (f) => {
      const watcher = await f.legacyWatcher();
      const payload = { user: "https://example.com/users/alice", roles: ["reader"] };
      const token = await legacyToken({ subscribe: [BOOKS], payload });
      const stream = await f.open([["topic", BOOKS]], token);
      const started = await waitForLegacyDoc(watcher, (doc) => doc.topic === BOOKS);
      assert.equal(started.type, "message", "no event: field");
      const doc = JSON.parse(started.data) as LegacyDoc;
      assert.match(doc.subscriber, UUID_IRI);
      const id = legacyTopicOf(BOOKS, doc.subscriber);
      assert.deepEqual(doc, {
        "@context": CONTEXT,
        id,
        type: "Subscription",
        topic: BOOKS,
        subscriber: doc.subscriber,
        active: true,
        payload,
      });

      await f.leave(stream);
      const ended = await waitForLegacyDoc(watcher, (d) => d.topic === BOOKS && !d.active);
      assert.equal(ended.type, "message");
      assert.deepEqual(JSON.parse(ended.data), { ...doc, active: false });
      assert.deepEqual(states((await f.mark(watcher)).slice(1)), [
        [BOOKS, true],
        [BOOKS, false],
        ["https://example.com/marker/1", true],
      ]);
    });
  });

  it("encodes the topic and the subscriber with RFC 6570 simple expansion in the event's topic", async () => {
    await withFixture(async (f) => {
      const watcher = await f.legacyWatcher();
      const topic = "https://example.com/a b/é?x=1&y=~._-%41";
      await f.open([["topic", topic]], await legacyToken({}));
      const event = await waitForLegacyDoc(watcher, (doc) => doc.topic === topic);
      const doc = JSON.parse(event.data) as LegacyDoc;
      assert.equal(
        doc.id,
        `${SUBS}/https%3A%2F%2Fexample.com%2Fa%20b%2F%C3%A9%3Fx%3D1%26y%3D~._-%2541/${expand(doc.subscriber)}`,
      );
      assert.equal(doc.id, legacyTopicOf(topic, doc.subscriber));
      assert.equal("payload" in doc, false, "a token without payload gives a document without payload");
    });
  });

  it("sends the draft-08 event for a match= subscription on the same connection, and the legacy one for topic=", async () => {
    await withFixture(async (f) => {
      const legacyWatcher = await f.legacyWatcher();
      const modernWatcher = await f.modernWatcher();
      const MATCH = "https://example.com/exact";
      const stream = await f.open(
        [
          ["topic", BOOKS],
          ["match", MATCH],
        ],
        await legacyToken({ subscribe: ["*"], payload: { p: 1 } }),
      );
      const modern = await waitForEvent(
        modernWatcher,
        (event) => event.type === "mercure" && (JSON.parse(event.data) as ModernDoc).match === MATCH,
      );
      const modernDoc = JSON.parse(modern.data) as ModernDoc;
      assert.equal(
        modernDoc.id,
        `${SUBS}/exact/${expand(MATCH)}/${expand(modernDoc.subscriber)}`,
        "the draft-08 topic",
      );
      assert.equal(modernDoc.type, "subscription");
      assert.equal(modernDoc.match_type, "exact");
      assert.equal(modernDoc.active, true);
      assert.deepEqual(modernDoc.payload, { p: 1 });
      // The draft-08 watcher sees the legacy event too (it covers the namespace), untyped.
      const legacyThere = await waitForLegacyDoc(modernWatcher, (doc) => doc.topic === BOOKS);
      const legacyDoc = JSON.parse(legacyThere.data) as LegacyDoc;
      assert.equal(legacyDoc.subscriber, modernDoc.subscriber, "one connection, one subscriber");

      // The legacy watcher's template covers /{topic}/{subscriber} only: never the draft-08 event.
      await f.leave(stream);
      const seen = await f.mark(legacyWatcher);
      assert.deepEqual(states(seen.slice(1)), [
        [BOOKS, true],
        [BOOKS, false],
        ["https://example.com/marker/1", true],
      ]);
      assert.ok(
        legacyWatcher.events.every((event) => event.type !== "mercure"),
        "no draft-08 event reached the legacy watcher",
      );
    });
  });

  it("withholds the events from a legacy token that does not cover their topic", async () => {
    await withFixture(async (f) => {
      const watcher = await f.legacyWatcher();
      // Covers the marker's events only (a template whose literal part is pct-encoded).
      const markerOnly = `${SUBS}/${expand("https://example.com/marker/1")}/{subscriber}`;
      const blind = await f.open(
        [["topic", LEGACY_WATCH]],
        await legacyToken({ subscribe: [BOOKS, markerOnly] }),
      );
      await f.open([["topic", BOOKS]], await legacyToken({}));
      await f.mark(watcher);
      // The marker's event is the first the blind stream gets: nothing dispatched before reached it.
      const [first] = await blind.waitForEvents(1);
      assert.equal((JSON.parse(first!.data) as LegacyDoc).topic, "https://example.com/marker/1");
    });
  });
});

describe("the legacy subscription API", { timeout: 30_000 }, () => {
  /** A legacy token for the whole API: the collection, a topic's list and single documents. */
  const apiToken = () => legacyToken({ subscribe: [SUBS, `${SUBS}/{topic}`, LEGACY_WATCH] });
  const A = "https://example.com/a";
  const B = "https://example.com/b/{id}";

  /** Opens topic=A twice, topic=B once (and match=M on the first): returns their subscribers. */
  async function populate(f: Fixture): Promise<{ first: string; second: string; third: string }> {
    const watcher = await f.modernWatcher();
    const token = await legacyToken({ subscribe: ["*"], payload: { n: 1 } });
    await f.open(
      [
        ["topic", A],
        ["match", "https://example.com/m"],
      ],
      token,
    );
    await f.open([["topic", A]], token);
    await f.open([["topic", B]], await legacyToken({}));
    await waitForLegacyDoc(watcher, (doc) => doc.topic === B);
    const docs = legacyDocs(watcher);
    return { first: docs[0]!.subscriber, second: docs[1]!.subscriber, third: docs[2]!.subscriber };
  }

  it("lists the legacy subscriptions only, as JSON-LD, with lastEventID", async () => {
    await withFixture(async (f) => {
      const { first, second, third } = await populate(f);
      const listed = await f.get(SUBS, await apiToken());
      assert.equal(listed.status, 200, listed.text);
      assert.match(listed.headers.get("content-type") ?? "", /^application\/ld\+json/);
      const body = listed.json;
      assert.equal(body["@context"], CONTEXT);
      assert.equal(body.id, SUBS);
      assert.equal(body.type, "Subscriptions");
      assert.equal(typeof body.lastEventID, "string");
      assert.match(listed.headers.get("link") ?? "", /rel="mercure"/);
      assert.ok(
        (listed.headers.get("link") ?? "").includes(`last-event-id="${body.lastEventID}"`),
        "the Link header carries the same cursor",
      );
      const subscriptions = (body.subscriptions as LegacyDoc[]).map(({ "@context": _, ...doc }) => doc);
      assert.deepEqual(subscriptions, [
        {
          id: legacyTopicOf(A, first),
          type: "Subscription",
          topic: A,
          subscriber: first,
          active: true,
          payload: { n: 1 },
        },
        {
          id: legacyTopicOf(A, second),
          type: "Subscription",
          topic: A,
          subscriber: second,
          active: true,
          payload: { n: 1 },
        },
        { id: legacyTopicOf(B, third), type: "Subscription", topic: B, subscriber: third, active: true },
      ]);
    });
  });

  it("lists one topic's subscriptions at /subscriptions/{topic}", async () => {
    await withFixture(async (f) => {
      const { first, second } = await populate(f);
      const path = `${SUBS}/${expand(A)}`;
      const listed = await f.get(path, await apiToken());
      assert.equal(listed.status, 200, listed.text);
      assert.match(listed.headers.get("content-type") ?? "", /^application\/ld\+json/);
      assert.equal(listed.json.id, path);
      assert.equal(listed.json.type, "Subscriptions");
      assert.deepEqual(
        (listed.json.subscriptions as LegacyDoc[]).map((doc) => doc.subscriber),
        [first, second],
      );
      const none = await f.get(`${SUBS}/${expand("https://example.com/nobody")}`, await apiToken());
      assert.equal(none.status, 200, none.text);
      assert.deepEqual(none.json.subscriptions, []);
    });
  });

  it("serves one subscription at /subscriptions/{topic}/{subscriber}, or 404", async () => {
    await withFixture(async (f) => {
      const { third } = await populate(f);
      const path = legacyTopicOf(B, third);
      // A token granting the single documents only is enough here.
      const narrow = await legacyToken({ subscribe: [LEGACY_WATCH] });
      const one = await f.get(path, narrow);
      assert.equal(one.status, 200, one.text);
      assert.match(one.headers.get("content-type") ?? "", /^application\/ld\+json/);
      assert.equal(typeof one.json.lastEventID, "string");
      assert.deepEqual(one.json, {
        "@context": CONTEXT,
        id: path,
        type: "Subscription",
        topic: B,
        subscriber: third,
        active: true,
        lastEventID: one.json.lastEventID,
      });
      const unknown = await f.get(legacyTopicOf(B, "urn:uuid:00000000-0000-4000-8000-000000000000"), narrow);
      assert.equal(unknown.status, 404, unknown.text);
      assert.equal(unknown.json.code, "subscription_not_found");
      // The same token cannot list.
      assert.equal((await f.get(SUBS, narrow)).status, 403);
    });
  });

  it("answers 404 to a three-segment path with a legacy token", async () => {
    await withFixture(async (f) => {
      const { first } = await populate(f);
      const token = await legacyToken({ subscribe: ["*"] });
      // The draft-08 path of a subscription, and a legacy document's path with a segment added.
      for (const path of [
        `${SUBS}/exact/${expand(A)}/${expand(first)}`,
        `${legacyTopicOf(A, first)}/extra`,
      ]) {
        const response = await f.get(path, token);
        assert.equal(response.status, 404, `${path}: ${response.text}`);
        assert.equal(response.json.code, "not_found", path);
      }
      assert.equal((await f.get(legacyTopicOf(A, first), token)).status, 200, "the control");
    });
  });

  it("answers 403 to a legacy token without a grant on the path", async () => {
    await withFixture(async (f) => {
      await populate(f);
      const token = await legacyToken({ subscribe: [BOOKS, "https://example.com/{x}"] });
      for (const path of [SUBS, `${SUBS}/${expand(A)}`]) {
        const response = await f.get(path, token);
        assert.equal(response.status, 403, `${path}: ${response.text}`);
      }
    });
  });

  it("lists only the draft-08 subscriptions, as JSON, to a draft-08 token on the same hub", async () => {
    await withFixture(async (f) => {
      await populate(f);
      const listed = await f.get(SUBS, await f.hub.token({ subscribe: ["*"] }));
      assert.equal(listed.status, 200, listed.text);
      assert.match(listed.headers.get("content-type") ?? "", /^application\/json/);
      assert.equal(listed.json.type, "subscriptions");
      const docs = listed.json.subscriptions as ModernDoc[];
      assert.deepEqual(
        docs.map((doc) => [doc.type, doc.match_type, doc.match]),
        [
          ["subscription", "urlpattern", `${SUBS}/*`],
          ["subscription", "exact", "https://example.com/m"],
        ],
      );
    });
  });

  it("gives the legacy view to a draft-08 token presented in the authorization query parameter", async () => {
    await withFixture(async (f) => {
      await populate(f);
      const token = await f.hub.token({ subscribe: ["*"] });
      const response = await fetch(`${f.hub.origin}${SUBS}?authorization=${token}`);
      const text = await response.text();
      assert.equal(response.status, 200, text);
      assert.match(response.headers.get("content-type") ?? "", /^application\/ld\+json/);
      const body = JSON.parse(text) as { type: string; subscriptions: LegacyDoc[] };
      assert.equal(body.type, "Subscriptions");
      assert.deepEqual(
        body.subscriptions.map((doc) => doc.topic),
        [A, A, B],
      );
    });
  });

  it("answers 304 to If-None-Match while nothing changed, and 200 with a new ETag after a change", async () => {
    await withFixture(async (f) => {
      await populate(f);
      const token = await apiToken();
      for (const path of [SUBS, `${SUBS}/${expand(A)}`]) {
        const first = await f.get(path, token);
        const etag = first.headers.get("etag");
        assert.ok(etag, "an ETag");
        const unchanged = await f.get(path, token, { "If-None-Match": etag });
        assert.equal(unchanged.status, 304, unchanged.text);
        assert.equal(unchanged.text, "");
      }
      const before = await f.get(SUBS, token);
      const etag = before.headers.get("etag")!;
      const watcher = await f.legacyWatcher();
      const C = "https://example.com/c";
      await f.open([["topic", C]], await legacyToken({}));
      await waitForLegacyDoc(watcher, (doc) => doc.topic === C);
      const changed = await f.get(SUBS, token, { "If-None-Match": etag });
      assert.equal(changed.status, 200, changed.text);
      assert.notEqual(changed.headers.get("etag"), etag);
      assert.deepEqual(
        (changed.json.subscriptions as LegacyDoc[]).map((doc) => doc.topic),
        [A, A, B, LEGACY_WATCH, C],
      );
    });
  });
});
