import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mintToken } from "../src/auth/mint.ts";
import { Hub } from "../src/hub/hub.ts";
import type { StreamSink } from "../src/hub/stream-sink.ts";
import type { ReplayEntry } from "../src/hub/transport.ts";
import { compileMatcher } from "../src/matching/compile.ts";
import type { MatchType } from "../src/matching/matcher.ts";
import { MemoryTransport } from "../src/transports/memory.ts";
import { accessClaims, detail, signJwt } from "./helpers/auth.ts";
import { openRawStream } from "./helpers/raw-stream.ts";
import { type ResponseWatcher, watchSubscribeResponses } from "./helpers/server-streams.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { ISSUER, publish, SECRET, startTestHub, type TestHub, type TokenGrants } from "./helpers/test-hub.ts";

const HUB_PATH = "/.well-known/mercure";
const SUBS = `${HUB_PATH}/subscriptions`;
/** A URL Pattern (relative: resolved against the hub URL) covering every subscription event. */
const EVERY_SUBSCRIPTION = `${SUBS}/*`;
const UUID_IRI = /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Doc {
  id: string;
  type: string;
  match_type: string;
  match: string;
  subscriber: string;
  active: boolean;
  payload?: unknown;
}

interface Collection {
  id: string;
  type: string;
  subscriptions: Doc[];
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

function topicOf(matchType: string, match: string, subscriber: string): string {
  return `${SUBS}/${matchType}/${expand(match)}/${expand(subscriber)}`;
}

/** The subscription documents a stream received, in order (other events are skipped). */
function docs(stream: Stream): Doc[] {
  return stream.events
    .filter((event) => event.type === "mercure")
    .map((event) => JSON.parse(event.data) as Doc);
}

/** Waits for the first subscription document satisfying `predicate` (scanning from the start). */
async function waitForDoc(stream: Stream, predicate: (doc: Doc) => boolean): Promise<Doc> {
  for (let n = 0; ; n++) {
    const event = (await stream.waitForEvents(n + 1))[n]!;
    if (event.type !== "mercure") continue;
    const doc = JSON.parse(event.data) as Doc;
    if (predicate(doc)) return doc;
  }
}

/** `[match, active]` of documents, to compare sequences readably. */
const states = (list: Doc[]) => list.map((doc) => [doc.match, doc.active]);

interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, checked by the tests
  readonly json: any;
}

interface MercureLink {
  readonly hub: string;
  readonly lastEventId: string;
}

/** The `rel="mercure"` link, which must carry exactly the attributes the draft shows, in order. */
function mercureLink(headers: Headers): MercureLink {
  // A header is a ByteString, one character per byte: the hub writes ids as UTF-8 bytes.
  const link = Buffer.from(headers.get("link") ?? "", "latin1").toString("utf8");
  const found =
    /<([^>]*)>; rel="mercure"; last-event-id="((?:[^"\\]|\\.)*)"; type="mercure"; content-type="application\/json"/.exec(
      link,
    );
  assert.ok(found, `no rel="mercure" link with a cursor in: ${link}`);
  return { hub: found[1]!, lastEventId: found[2]!.replace(/\\(.)/g, "$1") };
}

function nextLink(headers: Headers): string | undefined {
  return /<([^>]*)>; rel="next"/.exec(headers.get("link") ?? "")?.[1];
}

/** A hub with active subscriptions on, and the streams opened through it (closed at the end). */
class Fixture {
  readonly hub: TestHub;
  readonly #publisher: string;
  readonly #streams: Stream[] = [];
  readonly #responses: ResponseWatcher;
  #markers = 0;

  private constructor(hub: TestHub, publisher: string) {
    this.hub = hub;
    this.#publisher = publisher;
    this.#responses = watchSubscribeResponses(hub.server);
  }

  /** Closes a stream from the client's side and waits until the hub has forgotten it. */
  async leave(stream: Stream): Promise<void> {
    const closed = this.#responses.closed;
    stream.close();
    await this.#responses.waitForClosed(closed + 1);
  }

  /**
   * Opens one more subscription and returns the subscription documents `watcher` received up to
   * its start, which is the next event after everything dispatched before: an ordered marker.
   */
  async mark(watcher: Stream): Promise<Doc[]> {
    const match = `https://example.com/marker/${++this.#markers}`;
    await this.open([["match", match]], { token: await this.token({ subscribe: ["x"] }) });
    await waitForDoc(watcher, (doc) => doc.match === match);
    const list = docs(watcher);
    return list.slice(0, list.findIndex((doc) => doc.match === match) + 1);
  }

  static async start(flags: Record<string, string | boolean> = {}): Promise<Fixture> {
    const hub = await startTestHub({ subscriptions: true, ...flags });
    return new Fixture(hub, await hub.token({ publish: ["*"] }));
  }

  token(grants: TokenGrants): Promise<string> {
    return this.hub.token(grants);
  }

  /** A token for the subscription events and API (a URL Pattern over the whole namespace, or `*`). */
  watcherToken(): Promise<string> {
    return this.hub.token({ subscribe: ["*"] });
  }

  async open(
    parameters: [string, string][],
    options: { token?: string; headers?: Record<string, string> } = {},
  ): Promise<Stream> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
    const stream = await openStream(subscribeUrl(this.hub.hubUrl, parameters), { headers });
    this.#streams.push(stream);
    assert.equal(stream.status, 200, stream.status === 200 ? "" : await stream.body);
    return stream;
  }

  /**
   * Subscribes to every subscription event. The watcher's own subscription is announced first
   * (it matches itself): this waits for that event, so what follows is about the others.
   */
  async watch(token?: string, parameters: [string, string][] = []): Promise<Stream> {
    const stream = await this.open([["match_urlpattern", EVERY_SUBSCRIPTION], ...parameters], {
      token: token ?? (await this.watcherToken()),
    });
    if (!parameters.some(([name]) => name === "last_event_id")) {
      await waitForDoc(stream, (doc) => doc.match === EVERY_SUBSCRIPTION && doc.active);
    }
    return stream;
  }

  async get(path: string, options: { token?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
    const response = await fetch(new URL(path, this.hub.origin), { headers });
    const text = await response.text();
    const type = response.headers.get("content-type") ?? "";
    const json = /json/.test(type) && text !== "" ? JSON.parse(text) : undefined;
    return { status: response.status, headers: response.headers, text, json } satisfies ApiResponse;
  }

  /** Follows `rel="next"` from `path`; returns every document and the first page's cursor. */
  async list(path: string, token: string): Promise<{ docs: Doc[]; cursor: string; pages: number }> {
    const first = await this.get(path, { token });
    assert.equal(first.status, 200, first.text);
    const cursor = mercureLink(first.headers).lastEventId;
    const all: Doc[] = [...(first.json as Collection).subscriptions];
    let pages = 1;
    for (let next = nextLink(first.headers); next !== undefined; pages++) {
      const page = await this.get(next, { token });
      assert.equal(page.status, 200, page.text);
      assert.equal(page.json.type, "subscriptions");
      all.push(...(page.json as Collection).subscriptions);
      next = nextLink(page.headers);
      assert.ok(pages < 1000, "the pages never end");
    }
    return { docs: all, cursor, pages };
  }

  async send(
    topic: string,
    options: { id?: string; private?: boolean; data?: string } = {},
  ): Promise<string> {
    const fields: [string, string][] = [
      ["topic", topic],
      ["data", options.data ?? "x"],
    ];
    if (options.id !== undefined) fields.push(["id", options.id]);
    if (options.private === true) fields.push(["private", "on"]);
    const result = await publish(this.hub, fields, { token: this.#publisher });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  async close(): Promise<void> {
    this.#responses.stop();
    for (const stream of this.#streams) stream.close();
    await this.hub.close();
  }
}

async function withFixture(
  flags: Record<string, string | boolean>,
  body: (f: Fixture) => Promise<void>,
): Promise<void> {
  const f = await Fixture.start(flags);
  try {
    await body(f);
  } finally {
    await f.close();
  }
}

describe("subscription events", { timeout: 60_000 }, () => {
  it("announces every matcher of a stream when it starts and when it ends, under one subscriber id", async () => {
    await withFixture({}, async (f) => {
      const watcher = await f.watch(await f.token({ subscribeUrlPattern: [EVERY_SUBSCRIPTION] }));
      const before = watcher.events.length;
      const token = await f.token({ subscribe: ["https://example.com/unrelated"] });
      const stream = await f.open(
        [
          ["match", "https://example.com/a"],
          ["match_urlpattern", "https://example.com/items/:id"],
        ],
        { token },
      );
      await f.leave(stream);
      // A later subscription is the next event: exactly two events per matcher went out.
      await f.mark(watcher);
      const events = watcher.events.slice(before);
      assert.ok(
        events.every((event) => event.type === "mercure"),
        "subscription events are `event: mercure`",
      );
      assert.equal(new Set(events.map((event) => event.id)).size, 5, "each event has its own id");
      const list = events.map((event) => JSON.parse(event.data) as Doc);
      assert.deepEqual(states(list), [
        ["https://example.com/a", true],
        ["https://example.com/items/:id", true],
        ["https://example.com/a", false],
        ["https://example.com/items/:id", false],
        ["https://example.com/marker/1", true],
      ]);
      const subscriber = list[0]!.subscriber;
      assert.match(subscriber, UUID_IRI);
      const expected = (matchType: MatchType, match: string, active: boolean): Doc => ({
        id: topicOf(matchType, match, subscriber),
        type: "subscription",
        match_type: matchType,
        match,
        subscriber,
        active,
      });
      assert.deepEqual(list.slice(0, 4), [
        expected("exact", "https://example.com/a", true),
        expected("urlpattern", "https://example.com/items/:id", true),
        expected("exact", "https://example.com/a", false),
        expected("urlpattern", "https://example.com/items/:id", false),
      ]);
      assert.notEqual(list[4]!.subscriber, subscriber, "another connection, another id");
    });
  });

  it("percent-encodes the matcher and the subscriber exactly once (RFC 6570 simple expansion)", async () => {
    await withFixture({}, async (f) => {
      const watcher = await f.watch();
      const match = "https://example.com/a%2Fb/c:d?e=f g#h!*'()é✓/~-._";
      const stream = await f.open([["match", match]], { token: await f.token({ subscribe: ["x"] }) });
      const doc = await waitForDoc(watcher, (d) => d.match === match);
      // Written out by hand: `%` itself becomes %25, so %2F arrives as %252F; `!*'()` are encoded
      // too (encodeURIComponent would leave them), the unreserved `~-._` are not.
      const encodedMatch =
        "https%3A%2F%2Fexample.com%2Fa%252Fb%2Fc%3Ad%3Fe%3Df%20g%23h%21%2A%27%28%29%C3%A9%E2%9C%93%2F~-._";
      assert.equal(expand(match), encodedMatch);
      const encodedSubscriber = doc.subscriber.replaceAll(":", "%3A");
      assert.equal(doc.id, `${SUBS}/exact/${encodedMatch}/${encodedSubscriber}`);
      // The API serves the document at that very path.
      const single = await f.get(doc.id, { token: await f.watcherToken() });
      assert.equal(single.status, 200, single.text);
      assert.deepEqual(single.json, doc);
      // The collection of the matcher, too, is at the path without the subscriber.
      const collection = await f.get(`${SUBS}/exact/${encodedMatch}`, { token: await f.watcherToken() });
      assert.equal(collection.status, 200, collection.text);
      assert.deepEqual(collection.json.subscriptions, [doc]);
      await f.leave(stream);
      const ended = (await f.mark(watcher)).filter((d) => d.match === match && !d.active);
      assert.deepEqual(
        ended.map((d) => d.id),
        [doc.id],
      );
    });
  });

  it("delivers subscription events only to tokens granting subscribe on their topic", async () => {
    await withFixture({ anonymous: true }, async (f) => {
      const TARGET = "https://example.com/private-target";
      const MARKER = "https://example.com/marker";
      const watch = async (token: string | undefined) => {
        const stream = await f.open(
          [
            ["match", "*"],
            ["match", MARKER],
          ],
          token === undefined ? {} : { token },
        );
        return stream;
      };
      const star = await watch(await f.token({ subscribe: ["*"] }));
      const pattern = await watch(
        await f.token({ subscribeUrlPattern: [`${SUBS}/:type/:match/:subscriber`] }),
      );
      const absolutePattern = await watch(
        await f.token({ subscribeUrlPattern: [`${new URL(f.hub.hubUrl).origin}${SUBS}/exact/*`] }),
      );
      const otherType = await watch(
        await f.token({ subscribeUrlPattern: [`${SUBS}/urlpattern/:match/:subscriber`] }),
      );
      const collectionOnly = await watch(await f.token({ subscribe: [`${SUBS}/exact/${expand(TARGET)}`] }));
      const unrelated = await watch(await f.token({ subscribe: ["https://example.com/private-target"] }));
      const anonymous = await watch(undefined);

      const target = await f.open([["match", TARGET]], { token: await f.token({ subscribe: ["x"] }) });
      const started = await waitForDoc(star, (doc) => doc.match === TARGET);
      // An exact grant on the exact topic, and one on the same topic for another subscriber.
      const exact = await watch(await f.token({ subscribe: [started.id] }));
      const otherSubscriber = await watch(
        await f.token({
          subscribe: [topicOf("exact", TARGET, "urn:uuid:00000000-0000-4000-8000-000000000000")],
        }),
      );
      await f.leave(target);
      const marker = await f.send(MARKER);

      // What each stream got about the target, up to the marker (public, the last thing sent).
      const seen = async (stream: Stream) => {
        let n = 0;
        while ((await stream.waitForEvents(n + 1))[n]!.id !== marker) n++;
        return stream.events
          .slice(0, n + 1)
          .filter((event) => event.id === marker || JSON.parse(event.data).match === TARGET)
          .map((event) => (event.id === marker ? "marker" : JSON.parse(event.data).active ? "start" : "end"));
      };
      for (const [name, stream] of [
        ["* grant", star],
        ["URL Pattern grant", pattern],
        ["absolute URL Pattern grant", absolutePattern],
      ] as const) {
        assert.deepEqual(await seen(stream), ["start", "end", "marker"], name);
      }
      assert.deepEqual(await seen(exact), ["end", "marker"], "exact grant on the exact topic");
      for (const [name, stream] of [
        ["URL Pattern grant on another matcher type", otherType],
        ["grant on the matcher's collection only", collectionOnly],
        ["grant on the watched topic itself", unrelated],
        ["anonymous", anonymous],
        ["exact grant on another subscriber's topic", otherSubscriber],
      ] as const) {
        assert.deepEqual(await seen(stream), ["marker"], name);
      }
      // Anonymous subscribers never see a subscription event at all, not even their own kind.
      assert.deepEqual(docs(anonymous), []);
    });
  });

  it("assigns a fresh random subscriber id per connection, whatever the client sends", async () => {
    await withFixture({}, async (f) => {
      const watcher = await f.watch();
      const sub = "urn:uuid:11111111-1111-4111-8111-111111111111";
      const token = await mintToken({
        issuer: ISSUER,
        audience: f.hub.resourceIdentifier,
        key: SECRET,
        subscribe: ["*"],
        subject: sub,
      });
      const claimed = "urn:uuid:22222222-2222-4222-8222-222222222222";
      const MATCH = "https://example.com/same";
      const open = () =>
        f.open(
          [
            ["match", MATCH],
            ["match", "https://example.com/second"],
            ["subscriber", claimed],
            ["subscriber_id", claimed],
          ],
          {
            token,
            headers: {
              Subscriber: claimed,
              "X-Subscriber": claimed,
              "Mercure-Subscriber": claimed,
              From: claimed,
            },
          },
        );
      await open();
      await open();
      const list = docs(watcher).filter((doc) => doc.active && doc.match !== EVERY_SUBSCRIPTION);
      while (list.length < 4) {
        await watcher.waitForEvents(watcher.events.length + 1);
        list.splice(
          0,
          list.length,
          ...docs(watcher).filter((d) => d.active && d.match !== EVERY_SUBSCRIPTION),
        );
      }
      const [a1, a2, b1, b2] = list as [Doc, Doc, Doc, Doc];
      assert.equal(a1.subscriber, a2.subscriber, "one connection, one id for all its matchers");
      assert.equal(b1.subscriber, b2.subscriber);
      assert.notEqual(a1.subscriber, b1.subscriber, "the same token on two connections: two ids");
      for (const doc of list) {
        assert.match(doc.subscriber, UUID_IRI);
        assert.notEqual(doc.subscriber, claimed);
        assert.notEqual(doc.subscriber, sub, "the token's sub is not the subscriber id");
      }
      // Both subscriptions of the matcher are listed, told apart by their subscriber.
      const collection = await f.get(`${SUBS}/exact/${expand(MATCH)}`, { token });
      assert.equal(collection.status, 200, collection.text);
      assert.deepEqual(
        (collection.json as Collection).subscriptions.map((doc) => doc.subscriber).sort(),
        [a1.subscriber, b1.subscriber].sort(),
      );
    });
  });
});

describe("subscription payloads", { timeout: 60_000 }, () => {
  /** Signs a token with the given authorization details, as an issuer would. */
  async function tokenWith(f: Fixture, details: object[]): Promise<string> {
    return signJwt(
      { alg: "HS256", typ: "at+jwt" },
      accessClaims(ISSUER, f.hub.resourceIdentifier, details),
      new TextEncoder().encode(SECRET),
    );
  }

  /** Opens a stream with `matchers` under `token` and returns the documents announcing it. */
  async function announced(
    f: Fixture,
    watcher: Stream,
    token: string,
    matchers: [string, string][],
  ): Promise<Doc[]> {
    await f.open(matchers, { token });
    const result: Doc[] = [];
    for (const [, match] of matchers) result.push(await waitForDoc(watcher, (doc) => doc.match === match));
    return result;
  }

  const subscribeDetail = (topics: object[], payload?: object) =>
    detail(["subscribe"], topics, payload === undefined ? {} : { payload });

  it("takes the payload of the first subscribe detail matching the subscription's own matcher", async () => {
    await withFixture({}, async (f) => {
      const watcher = await f.watch();
      // The draft's example token.
      const token = await tokenWith(f, [
        subscribeDetail([{ match: "https://example.com/foo" }], {
          custom1: "data only available for this topic",
        }),
        subscribeDetail([{ match: "https://example.com/bar/:id", match_type: "urlpattern" }], {
          custom2: "data available for matching subscriptions",
        }),
        subscribeDetail([{ match: "*" }], { custom3: "default data for all other subscriptions" }),
      ]);
      const [foo, bar, pattern, other, near] = await announced(f, watcher, token, [
        ["match", "https://example.com/foo"],
        ["match", "https://example.com/bar/1"],
        ["match_urlpattern", "https://example.com/bar/:id"],
        ["match", "https://example.com/baz"],
        ["match_urlpattern", "https://example.com/foo/"],
      ]);
      assert.deepEqual(foo!.payload, { custom1: "data only available for this topic" });
      // The URL Pattern detail matches a topic, and a subscription whose pattern is that string.
      assert.deepEqual(bar!.payload, { custom2: "data available for matching subscriptions" });
      assert.deepEqual(pattern!.payload, { custom2: "data available for matching subscriptions" });
      assert.deepEqual(other!.payload, { custom3: "default data for all other subscriptions" });
      // An exact detail matches byte for byte only: a trailing slash is another string.
      assert.deepEqual(near!.payload, { custom3: "default data for all other subscriptions" });
      // The API shows the same payloads.
      const single = await f.get(foo!.id, { token: await f.watcherToken() });
      assert.deepEqual(single.json, foo);
    });
  });

  it("lets a broad detail placed first mask a specific one, and omits the payload when none matches", async () => {
    await withFixture({}, async (f) => {
      const watcher = await f.watch();
      const masked = await tokenWith(f, [
        subscribeDetail([{ match: "*" }], { broad: true }),
        subscribeDetail([{ match: "https://example.com/foo" }], { specific: true }),
      ]);
      const [foo] = await announced(f, watcher, masked, [["match", "https://example.com/foo"]]);
      assert.deepEqual(foo!.payload, { broad: true });

      const narrow = await tokenWith(f, [
        // A publish detail is not a subscribe detail, whatever its payload.
        detail(["publish"], [{ match: "*" }], { payload: { publisher: true } }),
        subscribeDetail([{ match: "https://example.com/foo" }], { specific: true }),
        // The first matching detail wins even without a payload.
        subscribeDetail([{ match: "https://example.com/first" }]),
        subscribeDetail([{ match: "https://example.com/first" }], { second: true }),
      ]);
      const [none, first] = await announced(f, watcher, narrow, [
        ["match", "https://example.com/elsewhere"],
        ["match", "https://example.com/first"],
      ]);
      assert.equal("payload" in none!, false, JSON.stringify(none));
      assert.equal("payload" in first!, false, JSON.stringify(first));
      const listed = await f.get(none!.id, { token: await f.watcherToken() });
      assert.equal("payload" in listed.json, false);
    });
  });
});

describe("the end of a subscription", { timeout: 60_000 }, () => {
  it("is announced when the hub closes the stream at the token's expiry", async () => {
    await withFixture({}, async (f) => {
      const watcher = await f.watch();
      const MATCH = "https://example.com/expiring";
      const stream = await f.open([["match", MATCH]], {
        token: await f.token({ subscribe: ["x"], ttlSeconds: 2 }),
      });
      const start = await waitForDoc(watcher, (doc) => doc.match === MATCH);
      await stream.ended;
      const ended = (await f.mark(watcher)).filter((doc) => doc.match === MATCH && !doc.active);
      assert.deepEqual(ended, [{ ...start, active: false }]);
    });
  });

  it("is announced when the stream reaches max-lifetime (read back from history with the list's cursor)", async () => {
    await withFixture({ "max-lifetime": "400ms", heartbeat: "10s" }, async (f) => {
      const token = await f.watcherToken();
      const { cursor } = await f.list(SUBS, token);
      const MATCH = "https://example.com/short-lived";
      const stream = await f.open([["match", MATCH]], { token: await f.token({ subscribe: ["x"] }) });
      assert.equal(await stream.endedCleanly, true);
      // Every stream has that lifetime, a watcher too: it replays from the cursor instead.
      const watcher = await f.watch(token, [["last_event_id", cursor]]);
      const events = await watcher.waitForEvents(3);
      const list = events.map((event) => JSON.parse(event.data) as Doc);
      assert.deepEqual(states(list), [
        [MATCH, true],
        [MATCH, false],
        [EVERY_SUBSCRIPTION, true],
      ]);
      assert.equal(list[0]!.subscriber, list[1]!.subscriber);
    });
  });

  it("is announced when a subscriber that stops reading is dropped", async () => {
    const flags = {
      anonymous: true,
      "max-body-bytes": "65536",
      "max-queue-bytes": "131072",
      "write-timeout": "1h",
    };
    await withFixture(flags, async (f) => {
      const watcher = await f.watch();
      const FLOOD = "https://example.com/flood";
      const stalled = await openRawStream(subscribeUrl(f.hub.hubUrl, [["match", FLOOD]]), { read: false });
      const start = await waitForDoc(watcher, (doc) => doc.match === FLOOD);
      const data = "s".repeat(32 * 1024);
      let sent = 0;
      const ended = () => docs(watcher).some((doc) => doc.match === FLOOD && !doc.active);
      while (!ended()) {
        const result = await publish(
          f.hub,
          { topic: FLOOD, data },
          { token: await f.token({ publish: ["*"] }) },
        );
        assert.equal(result.status, 200);
        assert.ok(++sent < 2000, "the stalled subscriber was never dropped");
      }
      const end = docs(watcher).find((doc) => doc.match === FLOOD && !doc.active)!;
      assert.deepEqual(end, { ...start, active: false });
      stalled.close();
    });
  });

  it("is announced for every stream at shutdown (seen by a watcher closed last)", async () => {
    const f = await Fixture.start();
    try {
      const MATCH = "https://example.com/until-shutdown";
      await f.open([["match", MATCH]], { token: await f.token({ subscribe: ["x"] }) });
      // Streams are closed in the order they opened: the watcher, opened last, still gets the
      // first one's end before its own stream ends, cleanly.
      const watcher = await f.watch();
      await f.hub.close();
      assert.equal(await watcher.endedCleanly, true);
      const list = docs(watcher).filter((doc) => doc.match === MATCH);
      assert.deepEqual(states(list), [[MATCH, false]]);
    } finally {
      await f.close();
    }
  });

  it("stores the end of every subscription before the transport closes at shutdown", async () => {
    const transport = new MemoryTransport({ historySize: 100 });
    const hubUrl = "https://hub.example/.well-known/mercure";
    const hub = new Hub(transport, {
      heartbeatMs: 60_000,
      writeTimeoutMs: 60_000,
      maxLifetimeMs: 3_600_000,
      maxQueueBytes: 1 << 20,
      subscriptions: { hubPath: HUB_PATH },
    });
    const sink = (): StreamSink => ({
      start: () => {},
      write: () => true,
      onDrain: () => {},
      onClose: () => {},
      end: () => {},
      destroy: () => {},
    });
    const matcher = (type: MatchType, pattern: string) =>
      compileMatcher(type, pattern, hubUrl, { maxPatternLength: 1000 });
    const connections = [
      await hub.subscribe({
        matchers: [matcher("exact", "https://example.com/a"), matcher("urlpattern", "/b/:id")],
        grants: undefined,
        cursor: undefined,
        sink: sink(),
      }),
      await hub.subscribe({
        matchers: [matcher("exact", "*")],
        grants: undefined,
        cursor: undefined,
        sink: sink(),
      }),
    ];
    assert.equal(hub.subscriptions!.size, 3);
    await hub.close();
    assert.equal(hub.subscriptions!.size, 0, "the list is empty once every end was dispatched");
    const stored = [...((await transport.replay("earliest")).entries as Iterable<ReplayEntry>)]
      .map((entry) => entry.update)
      .filter((update) => update.type === "mercure")
      .map((update) => JSON.parse(update.data) as Doc);
    const expected = (active: boolean) =>
      connections.flatMap((connection) =>
        connection!.matchers.map((m) => [m.pattern, connection!.subscriber, active] as const),
      );
    assert.deepEqual(
      stored.map((doc) => [doc.match, doc.subscriber, doc.active] as const),
      [...expected(true), ...expected(false)],
    );
  });
});

describe("the subscription API", { timeout: 60_000 }, () => {
  it("serves the collection, a matcher's collection and one subscription as JSON", async () => {
    await withFixture({}, async (f) => {
      const token = await f.watcherToken();
      const watcher = await f.watch(token);
      const own = docs(watcher)[0]!;
      const A = "https://example.com/api/a";
      const B = "https://example.com/api/:b";
      await f.open(
        [
          ["match", A],
          ["match_urlpattern", B],
        ],
        { token: await f.token({ subscribe: ["*"], payload: { tenant: "t1" } }) },
      );
      await f.open([["match", A]], { token: await f.token({ subscribe: ["x"] }) });
      const a1 = await waitForDoc(watcher, (doc) => doc.match === A);
      const b1 = await waitForDoc(watcher, (doc) => doc.match === B);
      const a2 = await waitForDoc(watcher, (doc) => doc.match === A && doc.subscriber !== a1.subscriber);
      assert.deepEqual(a1.payload, { tenant: "t1" });
      assert.equal("payload" in a2, false);

      const all = await f.get(SUBS, { token });
      assert.equal(all.status, 200, all.text);
      assert.equal(all.headers.get("content-type"), "application/json");
      assert.deepEqual(all.json, { id: SUBS, type: "subscriptions", subscriptions: [own, a1, b1, a2] });

      const ofA = await f.get(`${SUBS}/exact/${expand(A)}`, { token });
      assert.equal(ofA.status, 200, ofA.text);
      assert.equal(ofA.headers.get("content-type"), "application/json");
      assert.deepEqual(ofA.json, {
        id: `${SUBS}/exact/${expand(A)}`,
        type: "subscriptions",
        subscriptions: [a1, a2],
      });
      // The same pattern string under the other type is another matcher.
      const none = await f.get(`${SUBS}/urlpattern/${expand(A)}`, { token });
      assert.deepEqual(none.json.subscriptions, []);

      for (const doc of [a1, b1, a2]) {
        const single = await f.get(doc.id, { token });
        assert.equal(single.status, 200, single.text);
        assert.equal(single.headers.get("content-type"), "application/json");
        assert.deepEqual(single.json, doc, "the document of the event, unchanged");
      }
    });
  });

  it("answers 404 subscription_not_found for an unknown or ended subscription", async () => {
    await withFixture({}, async (f) => {
      const token = await f.watcherToken();
      const watcher = await f.watch(token);
      const MATCH = "https://example.com/api/ending";
      const stream = await f.open([["match", MATCH]], { token });
      const doc = await waitForDoc(watcher, (d) => d.match === MATCH);
      const unknown = await f.get(topicOf("exact", MATCH, "urn:uuid:00000000-0000-4000-8000-000000000000"), {
        token,
      });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.headers.get("content-type"), "application/problem+json");
      assert.equal(unknown.json.code, "subscription_not_found");
      assert.equal(unknown.headers.get("etag"), null, "a 404 carries no validator to revalidate against");
      await f.leave(stream);
      const ended = await f.get(doc.id, { token });
      assert.equal(ended.status, 404);
      assert.equal(ended.json.code, "subscription_not_found");
    });
  });

  it("answers 400 matcher_unknown_type for an unknown matcher type", async () => {
    await withFixture({}, async (f) => {
      const token = await f.watcherToken();
      for (const path of [
        `${SUBS}/regex/${expand("https://example.com/a")}`,
        `${SUBS}/regex/${expand("https://example.com/a")}/${expand("urn:uuid:x")}`,
        // Matcher type names are case-sensitive.
        `${SUBS}/Exact/${expand("https://example.com/a")}`,
      ]) {
        const response = await f.get(path, { token });
        assert.equal(response.status, 400, path);
        assert.equal(response.json.code, "matcher_unknown_type", path);
      }
    });
  });

  it("answers 401 without a token, even on a hub that accepts anonymous subscribers", async () => {
    await withFixture({ anonymous: true }, async (f) => {
      for (const path of [SUBS, `${SUBS}/exact/a`, `${SUBS}/exact/a/b`]) {
        const response = await f.get(path);
        assert.equal(response.status, 401, path);
        const challenge = response.headers.get("www-authenticate") ?? "";
        assert.match(challenge, /^Bearer /);
        assert.doesNotMatch(challenge, /error=/);
        assert.match(challenge, /resource_metadata="/);
      }
      const bad = await f.get(SUBS, { token: "not.a.token" });
      assert.equal(bad.status, 401);
      assert.match(bad.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
    });
  });

  it("answers 403 insufficient_scope unless the token grants subscribe on the request path", async () => {
    await withFixture({}, async (f) => {
      const watcher = await f.watch();
      const A = "https://example.com/scoped/a";
      const B = "https://example.com/scoped/b";
      await f.open(
        [
          ["match", A],
          ["match", B],
        ],
        { token: await f.token({ subscribe: ["x"] }) },
      );
      const a = await waitForDoc(watcher, (doc) => doc.match === A);
      const b = await waitForDoc(watcher, (doc) => doc.match === B);
      const collectionOfA = `${SUBS}/exact/${expand(A)}`;

      const status = async (token: string, path: string) => {
        const response = await f.get(path, { token });
        if (response.status === 403) {
          assert.equal(response.json.code, "insufficient_scope");
          assert.match(response.headers.get("www-authenticate") ?? "", /error="insufficient_scope"/);
        }
        return response.status;
      };
      // A grant on one matcher's collection opens that collection only.
      const onCollection = await f.token({ subscribe: [collectionOfA] });
      assert.equal(await status(onCollection, collectionOfA), 200);
      assert.equal(await status(onCollection, SUBS), 403);
      assert.equal(await status(onCollection, `${SUBS}/exact/${expand(B)}`), 403);
      assert.equal(await status(onCollection, a.id), 403);
      // A grant on one subscription opens it, not its collection.
      const onOne = await f.token({ subscribe: [a.id] });
      assert.equal(await status(onOne, a.id), 200);
      assert.equal(await status(onOne, b.id), 403);
      assert.equal(await status(onOne, collectionOfA), 403);
      // A URL Pattern over the single-subscription shape opens every subscription, no collection.
      const onSingles = await f.token({ subscribeUrlPattern: [`${SUBS}/:type/:match/:subscriber`] });
      assert.equal(await status(onSingles, a.id), 200);
      assert.equal(await status(onSingles, b.id), 200);
      assert.equal(await status(onSingles, collectionOfA), 403);
      assert.equal(await status(onSingles, SUBS), 403);
      // The pattern over the namespace does not cover the bare collection path.
      const onNamespace = await f.token({ subscribeUrlPattern: [EVERY_SUBSCRIPTION] });
      assert.equal(await status(onNamespace, collectionOfA), 200);
      assert.equal(await status(onNamespace, SUBS), 403);
      const onAll = await f.token({ subscribe: [SUBS] });
      assert.equal(await status(onAll, SUBS), 200);
      assert.equal(await status(onAll, collectionOfA), 403);
      // A grant on application topics only opens nothing.
      const appOnly = await f.token({ subscribe: [A, B] });
      assert.equal(await status(appOnly, collectionOfA), 403);
      // A query string is not part of the topic.
      assert.equal(await status(onCollection, `${collectionOfA}?x=1`), 200);
    });
  });

  it("carries the cursor in the rel=mercure Link header and a quoted ETag", async () => {
    await withFixture({}, async (f) => {
      const token = await f.watcherToken();
      const empty = await f.get(SUBS, { token });
      assert.equal(empty.status, 200);
      assert.deepEqual(mercureLink(empty.headers), { hub: f.hub.hubUrl, lastEventId: "earliest" });
      assert.deepEqual(empty.json.subscriptions, []);
      const id = await f.send("https://example.com/app", { id: "urn:example:last" });
      assert.equal(id, "urn:example:last");
      for (const path of [SUBS, `${SUBS}/exact/a`, `${SUBS}/exact/a/b`]) {
        const response = await f.get(path, { token });
        assert.deepEqual(
          mercureLink(response.headers),
          { hub: f.hub.hubUrl, lastEventId: "urn:example:last" },
          path,
        );
      }
      const listed = await f.get(SUBS, { token });
      assert.match(listed.headers.get("etag") ?? "", /^"[\x21\x23-\x7E]*"$/);
      assert.match(listed.headers.get("cache-control") ?? "", /must-revalidate|no-cache/);
    });
  });

  it("never gives the id of a private update as the cursor, and the cursor it gives is honoured", async () => {
    await withFixture({}, async (f) => {
      // A reader of the subscription events and the list, with no grant on the orders.
      const token = await f.token({ subscribe: [SUBS], subscribeUrlPattern: [EVERY_SUBSCRIPTION] });
      await f.watch(token);
      const secret = "urn:example:order-1234-paid";
      assert.equal(await f.send("https://example.com/orders/1234", { id: secret, private: true }), secret);
      const listed = await f.get(SUBS, { token });
      assert.equal(listed.status, 200, listed.text);
      const { lastEventId } = mercureLink(listed.headers);
      assert.notEqual(lastEventId, secret);
      assert.notEqual(lastEventId, "earliest");
      const following = await f.open(
        [
          ["match_urlpattern", EVERY_SUBSCRIPTION],
          ["last_event_id", lastEventId],
        ],
        { token },
      );
      assert.equal(following.headers["mercure-last-event-id"], lastEventId);
    });
  });

  it("writes a last event id outside Latin-1 in the Link header as its UTF-8 bytes, escaped in the quoted-string", async () => {
    await withFixture({}, async (f) => {
      const token = await f.watcherToken();
      for (const id of ["日本-1", '📚 "quoted" and \\ back\\slashed \\"', "ascii-only"]) {
        assert.equal(await f.send("https://example.com/app", { id }), id);
        const listed = await f.get(SUBS, { token });
        assert.equal(listed.status, 200, listed.text);
        assert.deepEqual(mercureLink(listed.headers), { hub: f.hub.hubUrl, lastEventId: id });
        const one = await f.get(`${SUBS}/exact/none/none`, { token });
        assert.equal(one.status, 404, one.text);
        assert.deepEqual(mercureLink(one.headers), { hub: f.hub.hubUrl, lastEventId: id });
      }
    });
  });

  it("answers 304 to If-None-Match while nothing changed, and 200 with a new ETag after a change", async () => {
    await withFixture({}, async (f) => {
      const token = await f.watcherToken();
      const first = await f.get(SUBS, { token });
      const etag = first.headers.get("etag")!;
      assert.ok(etag);
      const unchanged = await f.get(SUBS, { token, headers: { "If-None-Match": etag } });
      assert.equal(unchanged.status, 304);
      assert.equal(unchanged.text, "");
      assert.equal(unchanged.headers.get("etag"), etag);
      // Also inside a list, and with the weak form (If-None-Match compares weakly).
      const listed = await f.get(SUBS, { token, headers: { "If-None-Match": `"other", W/${etag}` } });
      assert.equal(listed.status, 304);

      const MATCH = "https://example.com/etag";
      await f.open([["match", MATCH]], { token });
      const changed = await f.get(SUBS, { token, headers: { "If-None-Match": etag } });
      assert.equal(changed.status, 200);
      assert.notEqual(changed.headers.get("etag"), etag);
      assert.deepEqual(
        (changed.json as Collection).subscriptions.map((doc) => doc.match),
        [MATCH],
      );
    });
  });

  it("changes the ETag whenever the list changes, even when a publisher reuses an event id", async () => {
    await withFixture({}, async (f) => {
      const token = await f.watcherToken();
      // Publishers choose their ids, and may reuse one: the cursor alone cannot tell two lists apart.
      await f.send("https://example.com/app", { id: "urn:example:reused" });
      const before = await f.get(SUBS, { token });
      const etag = before.headers.get("etag")!;
      assert.deepEqual(before.json.subscriptions, []);
      const MATCH = "https://example.com/reused";
      const watcher = await f.watch(token);
      await f.open([["match", MATCH]], { token });
      await waitForDoc(watcher, (doc) => doc.match === MATCH);
      // Another update with the same id (the same update again would be a retry, not stored twice).
      await f.send("https://example.com/app", { id: "urn:example:reused", data: "another" });
      const after = await f.get(SUBS, { token, headers: { "If-None-Match": etag } });
      assert.equal(after.status, 200, "the list changed: a 304 would keep the stale empty list");
      assert.equal(mercureLink(after.headers).lastEventId, "urn:example:reused");
      assert.equal(after.json.subscriptions.length, 2);
    });
  });

  it("paginates with rel=next links that walk every subscription exactly once", async () => {
    await withFixture({ "max-subscriptions-listed": "2", anonymous: true }, async (f) => {
      const token = await f.watcherToken();
      const watcher = await f.watch(token);
      for (let i = 0; i < 4; i++) await f.open([["match", `https://example.com/page/${i}`]]);
      await f.open([
        ["match", "https://example.com/page/4"],
        ["match", "https://example.com/page/shared"],
      ]);
      await f.open([["match", "https://example.com/page/shared"]]);
      while (docs(watcher).length < 8) await watcher.waitForEvents(watcher.events.length + 1);
      const expected = docs(watcher);
      assert.equal(expected.length, 8);

      const walk = await f.list(SUBS, token);
      assert.equal(walk.pages, 4);
      assert.deepEqual(walk.docs, expected);
      const shared = await f.list(`${SUBS}/exact/${expand("https://example.com/page/shared")}`, token);
      assert.deepEqual(
        shared.docs,
        expected.filter((doc) => doc.match === "https://example.com/page/shared"),
      );
      // A smaller page may be asked for, never a larger one.
      const small = await f.get(`${SUBS}?limit=1`, { token });
      assert.equal(small.json.subscriptions.length, 1);
      const large = await f.get(`${SUBS}?limit=50`, { token });
      assert.equal(large.json.subscriptions.length, 2);
    });
  });

  it("keeps walking the pages when the subscription a next link points after has ended", async () => {
    await withFixture({ "max-subscriptions-listed": "2", anonymous: true }, async (f) => {
      const token = await f.watcherToken();
      const streams: Stream[] = [];
      for (let i = 0; i < 5; i++) streams.push(await f.open([["match", `https://example.com/walk/${i}`]]));
      const first = await f.get(SUBS, { token });
      assert.deepEqual(
        (first.json as Collection).subscriptions.map((doc) => doc.match),
        ["https://example.com/walk/0", "https://example.com/walk/1"],
      );
      const next = nextLink(first.headers)!;
      assert.ok(next);
      // The last subscription of the page ends (and another one before it) before the next page.
      await f.leave(streams[1]!);
      await f.leave(streams[0]!);
      const rest: string[] = [];
      for (let link: string | undefined = next; link !== undefined; ) {
        const page = await f.get(link, { token });
        assert.equal(page.status, 200, page.text);
        rest.push(...(page.json as Collection).subscriptions.map((doc) => doc.match));
        link = nextLink(page.headers);
      }
      assert.deepEqual(rest, [
        "https://example.com/walk/2",
        "https://example.com/walk/3",
        "https://example.com/walk/4",
      ]);
    });
  });

  it("is read-only", async () => {
    await withFixture({}, async (f) => {
      const token = await f.watcherToken();
      const response = await fetch(new URL(SUBS, f.hub.origin), {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 405);
      assert.match(response.headers.get("allow") ?? "", /GET/);
      await response.arrayBuffer();
    });
  });
});

describe("listing, then following the events from the list's cursor", { timeout: 120_000 }, () => {
  /**
   * Clients connecting and leaving in `loops` concurrent loops, each keeping its latest stream
   * open. `progress(n)` resolves once `n` more streams were opened.
   */
  function churn(f: Fixture, loops: number, round: number) {
    let running = true;
    let opened = 0;
    let closed = 0;
    const kept: Stream[] = [];
    let waiters: (() => void)[] = [];
    const loop = async (l: number) => {
      let previous: Stream | undefined;
      for (let i = 0; running; i++) {
        const parameters: [string, string][] = [["match", `https://example.com/churn/${round}/${l}/${i}`]];
        if (i % 3 === 0) parameters.push(["match_urlpattern", `https://example.com/churn/${l}/:any`]);
        const stream = await f.open(parameters);
        opened++;
        const current = waiters;
        waiters = [];
        for (const wake of current) wake();
        if (previous !== undefined) {
          previous.close();
          closed++;
        }
        previous = stream;
      }
      if (previous !== undefined) kept.push(previous);
    };
    const done = Promise.all(Array.from({ length: loops }, (_, l) => loop(l)));
    return {
      progress(count: number): Promise<void> {
        const target = opened + count;
        return new Promise((resolve) => {
          const check = () => {
            if (opened >= target) resolve();
            else waiters.push(check);
          };
          check();
        });
      },
      async stop() {
        running = false;
        await done;
        return { closed, kept };
      },
    };
  }

  /** Applies subscription documents in order to a list: the client's side of reconciliation. */
  function fold(list: Doc[], events: Doc[]): Doc[] {
    const state = new Map(list.map((doc) => [doc.id, doc]));
    for (const doc of events) {
      if (doc.active) state.set(doc.id, doc);
      else state.delete(doc.id);
    }
    return [...state.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  it("folds to exactly the fresh list, with clients connecting and leaving all along", async () => {
    await withFixture(
      { anonymous: true, "max-subscriptions-listed": "3", "history-size": "100000" },
      async (f) => {
        const token = await f.watcherToken();
        const server = watchSubscribeResponses(f.hub.server);
        let closedByClients = 0;
        for (let round = 0; round < 4; round++) {
          const traffic = churn(f, 4, round);
          await traffic.progress(8);
          // Pages are fetched one after the other while the list changes: the first page's cursor
          // is the one to follow (later pages only reflect a later state, which the events replay).
          const listed = await f.list(SUBS, token);
          assert.ok(listed.pages > 1, "the list spans several pages");
          // Changes happen between the list and the subscription: they must come from history.
          await traffic.progress(6);
          const watcher = await f.open(
            [
              ["match_urlpattern", EVERY_SUBSCRIPTION],
              ["last_event_id", listed.cursor],
            ],
            { token },
          );
          assert.equal(
            watcher.headers["mercure-last-event-id"],
            listed.cursor,
            "the cursor was still in history",
          );
          await traffic.progress(6);
          const { closed, kept } = await traffic.stop();
          closedByClients += closed;
          // Every stream the clients closed is gone from the hub (its end dispatched): then one more
          // subscription, whose start is the last event the watcher needs to read.
          await server.waitForClosed(closedByClients);
          const MARKER = `https://example.com/settled/${round}`;
          const marker = await f.open([["match", MARKER]]);
          await waitForDoc(watcher, (doc) => doc.match === MARKER);

          const folded = fold(listed.docs, docs(watcher));
          const fresh = await f.list(SUBS, token);
          assert.deepEqual(
            folded,
            [...fresh.docs].sort((a, b) => a.id.localeCompare(b.id)),
            `round ${round}`,
          );
          assert.equal(new Set(fresh.docs.map((doc) => doc.id)).size, fresh.docs.length, "listed once each");
          assert.ok(
            docs(watcher).some((doc) => !doc.active),
            "the watcher saw subscriptions end after the cursor",
          );
          for (const stream of [...kept, marker, watcher]) stream.close();
          closedByClients += kept.length + 2;
          await server.waitForClosed(closedByClients);
        }
        server.stop();
      },
    );
  });
});

describe("discovery and defaults", () => {
  it("advertises mercure_subscriptions in the protected resource metadata when on", async () => {
    await withFixture({}, async (f) => {
      const response = await fetch(new URL(`/.well-known/oauth-protected-resource${HUB_PATH}`, f.hub.origin));
      assert.equal(response.status, 200);
      const document = (await response.json()) as Record<string, unknown>;
      assert.equal(document.mercure_subscriptions, true);
    });
  });

  it("is off by default: no API and no events", async () => {
    const hub = await startTestHub({ anonymous: true });
    try {
      const token = await hub.token({ subscribe: ["*"] });
      const response = await fetch(new URL(SUBS, hub.origin), {
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { code: string }).code, "not_found");
      const watcher = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
        headers: { Authorization: `Bearer ${token}` },
      });
      const other = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/x"]]));
      other.close();
      const marker = await publish(
        hub,
        { topic: "https://example.com/marker", data: "x" },
        { token: await hub.token({ publish: ["*"] }) },
      );
      const [first] = await watcher.waitForEvents(1);
      assert.equal(first!.id, marker.body, "no subscription event came before the marker");
      watcher.close();
    } finally {
      await hub.close();
    }
  });
});
