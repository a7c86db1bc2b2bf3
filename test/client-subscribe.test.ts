import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  MercureBufferOverflowError,
  type MercureError,
  type MercureMessage,
  MercureNetworkError,
  MercureOptionsError,
  MercureRateLimitedError,
  MercureUnauthorizedError,
  type Reconnecting,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionGap,
  subscribe,
} from "../src/client/index.ts";
import { accessClaims, detail, signJwt } from "./helpers/auth.ts";
import { sharedToken, startHubProcess } from "./helpers/hub-process.ts";
import { legacyToken, startLegacyHub } from "./helpers/legacy.ts";
import { ISSUER, publish, SECRET, startTestHub, type TestHub } from "./helpers/test-hub.ts";

/** A token the hub refuses: it expired a minute ago. */
function expiredToken(hub: TestHub, topics: string[]): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) - 60;
  const claims = accessClaims(ISSUER, hub.resourceIdentifier, [detail(["subscribe"], topics)], { exp });
  return signJwt({ alg: "HS256", typ: "at+jwt" }, claims, new TextEncoder().encode(SECRET));
}

/** Everything a subscription reported, and a way to wait until it reported enough. */
class Recorder<T = unknown> {
  readonly messages: MercureMessage<T>[] = [];
  readonly errors: MercureError[] = [];
  readonly gaps: SubscriptionGap[] = [];
  readonly opens: (string | undefined)[] = [];
  readonly reconnecting: Reconnecting[] = [];
  #waiters: { check: () => boolean; resolve: () => void }[] = [];

  readonly subscription: Subscription<T>;

  constructor(subscription: Subscription<T>) {
    this.subscription = subscription;
    subscription.on("message", (message) => this.#record(() => this.messages.push(message)));
    subscription.on("error", (error) => this.#record(() => this.errors.push(error)));
    subscription.on("gap", (gap) => this.#record(() => this.gaps.push(gap)));
    subscription.on("open", ({ anchor }) => this.#record(() => this.opens.push(anchor)));
    subscription.on("reconnecting", (info) => this.#record(() => this.reconnecting.push(info)));
    subscription.on("close", () => this.#record(() => {}));
  }

  get ids(): string[] {
    return this.messages.map((message) => message.id);
  }

  /** Resolves once `check` holds (checked now and after each event). */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ check, resolve }));
  }

  #record(action: () => void): void {
    action();
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.check()) return true;
      waiter.resolve();
      return false;
    });
  }
}

/** A `fetch` that records each request's method, URL and headers. */
function recordingFetch(): {
  fetch: typeof fetch;
  requests: { method: string; url: URL; headers: Headers }[];
} {
  const requests: { method: string; url: URL; headers: Headers }[] = [];
  return {
    requests,
    fetch: (input, init) => {
      requests.push({
        method: init?.method ?? "GET",
        url: new URL(String(input)),
        headers: new Headers(init?.headers),
      });
      return fetch(input, init);
    },
  };
}

const FAST_RECONNECT = { minDelayMs: 50, maxDelayMs: 500 };
let topics = 0;
const topic = () => `https://example.com/client/${++topics}`;

async function send(hub: TestHub, to: string, data: string): Promise<string> {
  const result = await publish(hub, { topic: to, data }, { token: await hub.token({ publish: ["*"] }) });
  assert.equal(result.status, 200, result.body);
  return result.body;
}

/** Publishes `data` to `to` on a hub process; resolves with the id it acknowledged. */
async function postUpdate(hubUrl: string, token: string, to: string, data: string): Promise<string> {
  const response = await fetch(hubUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ topic: to, data }),
  });
  assert.equal(response.status, 200);
  return response.text();
}

const opened: Subscription<unknown>[] = [];
function open<T>(hub: string, options: SubscribeOptions<T>): Recorder<T> {
  const subscription = subscribe(hub, { reconnect: FAST_RECONNECT, ...options });
  opened.push(subscription as Subscription<unknown>);
  return new Recorder(subscription);
}
after(() => {
  for (const subscription of opened) subscription.close();
});

describe("client subscribe: authorization", () => {
  it("subscribes with a bearer token and receives updates, parsed", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const books = topic();
    const { fetch: recording, requests } = recordingFetch();
    const sub = open(hub.hubUrl, {
      match: books,
      token: await hub.token({ subscribe: [books] }),
      fetch: recording,
    });
    await sub.until(() => sub.opens.length === 1);
    const json = await send(hub, books, '{"title":"Dune"}');
    const text = await send(hub, books, "not json");
    await sub.until(() => sub.messages.length === 2);
    // The hub reports which of the subscription's matchers each update matched, and its privacy.
    const reported = { matched: [{ option: "match", value: books }], private: false };
    assert.deepEqual(sub.messages, [
      { id: json, type: "message", data: { title: "Dune" }, raw: '{"title":"Dune"}', ...reported },
      { id: text, type: "message", data: "not json", raw: "not json", ...reported },
    ]);
    assert.equal(sub.subscription.lastEventId, text);
    assert.match(requests[0]!.headers.get("authorization") ?? "", /^Bearer /);
    assert.equal(requests[0]!.headers.get("accept"), "text/event-stream");
  });

  it("iterates with for await, and leaving the loop closes the subscription", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const books = topic();
    const subscription = subscribe<unknown>(hub.hubUrl, {
      match: books,
      token: await hub.token({ subscribe: [books] }),
    });
    subscription.on("open", () => void send(hub, books, '"one"'));
    for await (const message of subscription) {
      assert.equal(message.data, "one");
      break;
    }
    assert.equal(await subscription.closed, undefined);
  });

  it("ends with MercureUnauthorizedError for a refused token, never subscribing anonymously", async () => {
    const hub = await startTestHub({ anonymous: true });
    after(() => hub.close());
    const books = topic();
    const expired = await expiredToken(hub, [books]);
    const { fetch: recording, requests } = recordingFetch();
    const subscription = subscribe(hub.hubUrl, { match: books, token: expired, fetch: recording });
    const error = await subscription.closed;
    assert.ok(error instanceof MercureUnauthorizedError, String(error));
    assert.equal(error.code, "token_invalid");
    await assert.rejects(async () => {
      for await (const _ of subscription) assert.fail("no message");
    }, MercureUnauthorizedError);
    assert.equal(requests.length, 1, "a 401 is not retried with the same token");
    assert.ok(requests.every((request) => request.headers.get("authorization") === `Bearer ${expired}`));
  });

  it("with getToken, retries a 401 once with a fresh token, then ends", async () => {
    const hub = await startTestHub({ anonymous: true });
    after(() => hub.close());
    const books = topic();
    let calls = 0;
    const { fetch: recording, requests } = recordingFetch();
    const subscription = subscribe(hub.hubUrl, {
      match: books,
      getToken: () => {
        calls++;
        return expiredToken(hub, [books]);
      },
      fetch: recording,
    });
    const error = await subscription.closed;
    assert.ok(error instanceof MercureUnauthorizedError, String(error));
    assert.equal(calls, 2);
    assert.equal(requests.length, 2);
    assert.ok(requests.every((request) => request.headers.get("authorization")?.startsWith("Bearer ")));
  });

  it("renews a token shortly before it expires, resuming with nothing lost or repeated", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const books = topic();
    const tokens: string[] = [];
    const sub = open(hub.hubUrl, {
      match: books,
      getToken: async () => {
        const token = await hub.token({ subscribe: [books], ttlSeconds: 6 });
        tokens.push(token);
        return token;
      },
    });
    // An update before each renewal, and one after the last.
    const published: string[] = [];
    sub.subscription.on("open", () => {
      if (published.length < 3)
        void send(hub, books, String(published.length)).then((id) => published.push(id));
    });
    await sub.until(() => sub.messages.length === 3 && sub.opens.length >= 3);
    assert.deepEqual(sub.ids, published);
    assert.ok(tokens.length >= sub.opens.length, "a fresh token for each connection");
    assert.deepEqual(sub.errors, [], "renewed before the hub ended the stream");
  });
});

describe("client subscribe: reconnection", () => {
  const directory = mkdtempSync(join(tmpdir(), "quicksilver-client-"));
  after(() => rmSync(directory, { recursive: true, force: true }));

  it("resumes after the hub is killed and restarted on the same store, nothing lost or repeated", async () => {
    const store = `sqlite:${join(directory, "history.db")}`;
    let hub = await startHubProcess(["--transport", store]);
    after(() => hub.kill());
    const port = new URL(hub.hubUrl).port;
    const books = topic();
    const publisher = await sharedToken({ publish: ["*"] });
    // The hub of the moment: a restarted one has a new process, on the same URL.
    const post = (data: string) => postUpdate(hub.hubUrl, publisher, books, data);
    const sub = open(hub.hubUrl, { match: books, token: await sharedToken({ subscribe: [books] }) });
    await sub.until(() => sub.opens.length === 1);
    const ids = [await post("a"), await post("b")];
    await sub.until(() => sub.messages.length === 2);

    await hub.kill();
    // Published while the subscriber is away: the restarted hub replays them from its store.
    hub = await startHubProcess(["--transport", store, "--listen", `127.0.0.1:${port}`]);
    ids.push(await post("c"), await post("d"));
    await sub.until(() => sub.messages.length >= 4 && sub.opens.length >= 2);
    ids.push(await post("e"));
    await sub.until(() => sub.messages.length >= 5);
    assert.deepEqual(sub.ids, ids);
    assert.ok(sub.errors.length > 0 && sub.errors.every((error) => error instanceof MercureNetworkError));
    assert.ok(sub.reconnecting.length > 0);
    assert.deepEqual(sub.gaps, []);
  });

  it("takes a silent connection as lost, and resumes once the hub answers again", async () => {
    const hub = await startHubProcess(["--transport", "memory", "--heartbeat", "200ms"]);
    after(() => {
      hub.child.kill("SIGCONT");
      return hub.kill();
    });
    const books = topic();
    const sub = open(hub.hubUrl, {
      match: books,
      token: await sharedToken({ subscribe: [books] }),
      stallTimeoutMs: 3000,
    });
    await sub.until(() => sub.opens.length === 1);
    const publisher = await sharedToken({ publish: ["*"] });
    const post = (data: string) => postUpdate(hub.hubUrl, publisher, books, data);
    const first = await post("a");
    await sub.until(() => sub.messages.length === 1);
    assert.equal(sub.errors.length, 0, "keep-alives hold a healthy connection");
    // Stopped, not killed: the connection stays open, and nothing comes through it.
    hub.child.kill("SIGSTOP");
    await sub.until(() => sub.errors.length > 0);
    assert.ok(sub.errors[0] instanceof MercureNetworkError);
    assert.match(sub.errors[0].message, /nothing arrived for 3000 ms/);
    hub.child.kill("SIGCONT");
    await sub.until(() => sub.opens.length >= 2);
    const second = await post("b");
    await sub.until(() => sub.messages.length === 2);
    assert.deepEqual(sub.ids, [first, second]);
  });

  it("reports a gap when the cursor was trimmed from history, and events still flow", async () => {
    const hub = await startTestHub({ "history-size": "2" });
    after(() => hub.close());
    const books = topic();
    const ids: string[] = [];
    for (const data of ["1", "2", "3", "4"]) ids.push(await send(hub, books, data));
    const sub = open(hub.hubUrl, {
      match: books,
      token: await hub.token({ subscribe: [books] }),
      lastEventId: ids[0],
    });
    await sub.until(() => sub.messages.length === 2);
    assert.deepEqual(sub.gaps, [{ requested: ids[0], anchor: "earliest" }]);
    assert.deepEqual(sub.ids, ids.slice(2));
    const live = await send(hub, books, "5");
    await sub.until(() => sub.messages.length === 3);
    assert.equal(sub.ids[2], live);
  });

  it("reports no gap when the cursor is found", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const books = topic();
    const first = await send(hub, books, "1");
    const second = await send(hub, books, "2");
    const sub = open(hub.hubUrl, {
      match: books,
      token: await hub.token({ subscribe: [books] }),
      lastEventId: first,
    });
    await sub.until(() => sub.messages.length === 1);
    assert.deepEqual(sub.ids, [second]);
    assert.deepEqual(sub.gaps, []);
    assert.deepEqual(sub.opens, [first]);
  });

  it("surfaces a 429 as MercureRateLimitedError and retries only after its Retry-After", async () => {
    const hub = await startTestHub({ "max-connections-per-client": "1" });
    after(() => hub.close());
    const books = topic();
    const token = await hub.token({ subscribe: [books] });
    const first = open(hub.hubUrl, { match: books, token, share: false });
    await first.until(() => first.opens.length === 1);
    const { fetch: recording, requests } = recordingFetch();
    const second = open(hub.hubUrl, { match: books, token, share: false, fetch: recording });
    await second.until(() => second.errors.length === 1);
    const [refusal] = second.errors;
    assert.ok(refusal instanceof MercureRateLimitedError, String(refusal));
    assert.equal(refusal.retryAfterMs, 5000);
    assert.ok(second.reconnecting[0]!.delayMs >= 5000, "not scheduled before Retry-After");
    first.subscription.close();
    await second.until(() => second.opens.length === 1);
    assert.equal(requests.length, 2, "one request refused, the next one after Retry-After");
  });
});

describe("client subscribe: requests", () => {
  it("sends a matcher list too long for a URL in a QUERY body, and receives its updates", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const many = Array.from({ length: 60 }, (_, i) => `https://example.com/long/${i}/${"x".repeat(40)}`);
    const { fetch: recording, requests } = recordingFetch();
    const sub = open(hub.hubUrl, {
      match: many,
      token: await hub.token({ subscribe: ["*"] }),
      fetch: recording,
    });
    await sub.until(() => sub.opens.length === 1);
    const last = await send(hub, many[59]!, "59");
    const first = await send(hub, many[0]!, "0");
    await sub.until(() => sub.messages.length === 2);
    assert.deepEqual(sub.ids, [last, first]);
    assert.equal(requests[0]!.method, "QUERY");
    assert.ok(requests[0]!.url.href.length < 2000);
  });

  it("ends a subscription whose loop falls too far behind, resumable with nothing lost", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const books = topic();
    const token = await hub.token({ subscribe: [books] });
    const subscription = subscribe(hub.hubUrl, { match: books, token, maxBufferedMessages: 2 });
    const loop = subscription[Symbol.asyncIterator]();
    await new Promise((resolve) => subscription.on("open", resolve));
    const ids = [await send(hub, books, "1"), await send(hub, books, "2"), await send(hub, books, "3")];
    const error = await subscription.closed;
    assert.ok(error instanceof MercureBufferOverflowError, String(error));
    assert.equal((await loop.next()).value?.id, ids[0]);
    assert.equal((await loop.next()).value?.id, ids[1]);
    await assert.rejects(loop.next(), MercureBufferOverflowError);
    assert.equal(subscription.lastEventId, ids[1], "the message dropped is not counted as received");
    const resumed = open(hub.hubUrl, { match: books, token, lastEventId: subscription.lastEventId! });
    await resumed.until(() => resumed.messages.length === 1);
    assert.deepEqual(resumed.ids, [ids[2]]);
  });

  it("refuses options it cannot work with, with a code", () => {
    const cases: [SubscribeOptions, string][] = [
      [{}, "matcher_missing"],
      [{ topic: "a" }, "topic_needs_legacy"],
      [{ match: "a", token: "t", getToken: () => "t" }, "token_conflict"],
    ];
    for (const [options, code] of cases) {
      assert.throws(
        () => subscribe("http://127.0.0.1:1/", options),
        (error: unknown) => {
          return error instanceof MercureOptionsError && error.code === code;
        },
      );
    }
    assert.throws(() => subscribe("ftp://hub/", { match: "a" }), MercureOptionsError);
  });

  it("speaks the legacy dialect to a hub run with --legacy", async () => {
    const hub = await startLegacyHub();
    after(() => hub.close());
    const template = "https://example.com/legacy-books/{id}";
    const token = await legacyToken({ subscribe: [template] });
    const first = await send(hub, "https://example.com/legacy-books/1", "1");
    const second = await send(hub, "https://example.com/legacy-books/2", "2");
    const { fetch: recording, requests } = recordingFetch();
    const sub = open(hub.hubUrl, {
      dialect: "legacy",
      topic: template,
      token,
      lastEventId: first,
      fetch: recording,
    });
    await sub.until(() => sub.messages.length === 1);
    assert.deepEqual(sub.ids, [second]);
    assert.deepEqual(sub.opens, [first], "the anchor read from the legacy Last-Event-ID header");
    assert.deepEqual(sub.gaps, []);
    assert.deepEqual(requests[0]!.url.searchParams.getAll("topic"), [template]);
    assert.equal(requests[0]!.url.searchParams.get("lastEventID"), first);
  });
});

describe("client subscribe: subscription events", () => {
  it("delivers the hub's subscription events as messages of type mercure", async () => {
    const hub = await startTestHub({ subscriptions: true });
    after(() => hub.close());
    const watched = topic();
    const observer = open(hub.hubUrl, {
      matchUrlPattern: `${hub.hubUrl}/subscriptions/exact/${encodeURIComponent(watched)}/*`,
      token: await hub.token({ subscribe: ["*"] }),
      share: false,
    });
    await observer.until(() => observer.opens.length === 1);
    const viewer = open(hub.hubUrl, {
      match: watched,
      token: await hub.token({ subscribe: [watched] }),
      share: false,
    });
    await viewer.until(() => viewer.opens.length === 1);
    await observer.until(() => observer.messages.length === 1);
    const [arrival] = observer.messages as MercureMessage<{ match: string; active: boolean }>[];
    assert.equal(arrival!.type, "mercure");
    assert.equal(arrival!.data.match, watched);
    assert.equal(arrival!.data.active, true);
  });
});

describe("client subscribe: sharing", () => {
  it("carries many subscriptions on one connection, each getting exactly its updates", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const [a, b, c, d] = [topic(), topic(), topic(), topic()];
    const token = await hub.token({ subscribe: ["*"] });
    const { fetch: recording, requests } = recordingFetch();
    const subs = [
      open(hub.hubUrl, { match: a, token, fetch: recording }),
      open(hub.hubUrl, { match: b, token, fetch: recording }),
      open(hub.hubUrl, { match: [a, c], token, fetch: recording }),
      open(hub.hubUrl, { matchUrlPattern: `${d.replace(/\d+$/, "")}*`, token, fetch: recording }),
    ];
    for (const sub of subs) await sub.until(() => sub.opens.length === 1);
    const [toA, toB, toC, toD] = [
      await send(hub, a, "a"),
      await send(hub, b, "b"),
      await send(hub, c, "c"),
      await send(hub, d, "d"),
    ];
    const expected = [[toA], [toB], [toA, toC], [toA, toB, toC, toD]];
    for (const [i, sub] of subs.entries()) await sub.until(() => sub.messages.length === expected[i]!.length);
    const marker = await send(hub, b, "marker");
    await subs[1]!.until(() => subs[1]!.messages.length === 2);
    await subs[3]!.until(() => subs[3]!.messages.length === 5);
    assert.deepEqual(
      subs.map((sub) => sub.ids),
      [[toA], [toB, marker], [toA, toC], [toA, toB, toC, toD, marker]],
    );
    assert.equal(requests.length, 1, "one connection");
    assert.equal(requests[0]!.url.searchParams.get("report_matchers"), "1");
    assert.deepEqual(requests[0]!.url.searchParams.getAll("match"), [a, b, c]);
  });

  it("reconnects the shared connection as subscriptions come and go, nothing lost or repeated", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const [a, b] = [topic(), topic()];
    const token = await hub.token({ subscribe: ["*"] });
    const { fetch: recording, requests } = recordingFetch();
    const first = open(hub.hubUrl, { match: a, token, fetch: recording });
    await first.until(() => first.opens.length === 1);
    const a1 = await send(hub, a, "a1");
    await first.until(() => first.messages.length === 1);

    const second = open(hub.hubUrl, { match: b, token, fetch: recording });
    await second.until(() => second.opens.length === 1);
    const [a2, b1] = [await send(hub, a, "a2"), await send(hub, b, "b1")];
    await first.until(() => first.messages.length === 2);
    await second.until(() => second.messages.length === 1);
    assert.equal(requests.length, 2);
    assert.deepEqual(requests[1]!.url.searchParams.getAll("match"), [a, b]);
    assert.equal(requests[1]!.headers.get("last-event-id"), a1, "resumed from the last event received");

    second.subscription.close();
    await first.until(() => first.opens.length === 3);
    const a3 = await send(hub, a, "a3");
    await first.until(() => first.messages.length === 3);
    assert.deepEqual(first.ids, [a1, a2, a3]);
    assert.deepEqual(second.ids, [b1]);
    assert.deepEqual(requests[2]!.url.searchParams.getAll("match"), [a]);
    assert.equal(requests[2]!.headers.get("last-event-id"), b1);
  });

  it("resumes from an id beyond ASCII, sent and read back as UTF-8 bytes", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const [a, b] = [topic(), topic()];
    const token = await hub.token({ subscribe: ["*"] });
    const publisher = await hub.token({ publish: ["*"] });
    const { fetch: recording, requests } = recordingFetch();
    const first = open(hub.hubUrl, { match: a, token, fetch: recording });
    await first.until(() => first.opens.length === 1);
    const id = `livre-é-${topics}`;
    assert.equal((await publish(hub, { topic: a, data: "x", id }, { token: publisher })).status, 200);
    await first.until(() => first.messages.length === 1);
    // A second subscription reconnects the shared connection from that id, in the header.
    const second = open(hub.hubUrl, { match: b, token, fetch: recording });
    await second.until(() => second.opens.length === 1);
    assert.equal(requests[1]!.headers.get("last-event-id"), Buffer.from(id).toString("latin1"));
    assert.deepEqual(first.opens, [first.opens[0], id], "the anchor read back is the id sent");
    assert.deepEqual(first.gaps, []);
    assert.deepEqual(first.ids, [id]);
  });

  it("gives each subscription its own connection on a hub that does not report matchers", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const [a, b] = [topic(), topic()];
    const token = await hub.token({ subscribe: [a, b] });
    // A hub without the extension ignores the parameter: it is dropped on the way here.
    const requests: URL[] = [];
    const olderHub: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      requests.push(new URL(url));
      url.searchParams.delete("report_matchers");
      return fetch(url, init);
    };
    const hubUrl = `${hub.hubUrl}?older`;
    const first = open(hubUrl, { match: a, token, fetch: olderHub });
    const second = open(hubUrl, { match: b, token, fetch: olderHub });
    await first.until(() => first.opens.length === 1);
    await second.until(() => second.opens.length === 1);
    const toA = await send(hub, a, "a");
    const toB = await send(hub, b, "b");
    await first.until(() => first.messages.length === 1);
    await second.until(() => second.messages.length === 1);
    const marker = await send(hub, a, "marker");
    await first.until(() => first.messages.length === 2);
    assert.deepEqual(first.ids, [toA, marker]);
    assert.deepEqual(second.ids, [toB]);
    // The first request carried both; the hub did not report, so each went its own way.
    assert.deepEqual(requests[0]!.searchParams.getAll("match"), [a, b]);
    const later = open(hubUrl, { match: a, token, fetch: olderHub });
    await later.until(() => later.opens.length === 1);
    assert.equal(requests.at(-1)!.searchParams.get("report_matchers"), null, "remembered per hub");
  });

  it("with share: false, opens a connection of its own", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const a = topic();
    const token = await hub.token({ subscribe: [a] });
    const { fetch: recording, requests } = recordingFetch();
    const first = open(hub.hubUrl, { match: a, token, fetch: recording, share: false });
    const second = open(hub.hubUrl, { match: a, token, fetch: recording, share: false });
    await first.until(() => first.opens.length === 1);
    await second.until(() => second.opens.length === 1);
    const id = await send(hub, a, "a");
    await first.until(() => first.messages.length === 1);
    await second.until(() => second.messages.length === 1);
    assert.deepEqual([first.ids, second.ids], [[id], [id]]);
    assert.equal(requests.length, 2);
    assert.ok(requests.every((request) => !request.url.searchParams.has("report_matchers")));
    assert.equal(first.messages[0]!.matched, undefined, "nothing reported unless asked");
  });

  it("with reportMatchers on a connection of its own, tells each message's matchers and privacy", async () => {
    const hub = await startTestHub();
    after(() => hub.close());
    const a = topic();
    const pattern = "https://example.com/client/reported/:id";
    const b = "https://example.com/client/reported/7";
    const sub = open(hub.hubUrl, {
      match: [a],
      matchUrlPattern: pattern,
      token: await hub.token({ subscribe: [a, b] }),
      share: false,
      reportMatchers: true,
    });
    await sub.until(() => sub.opens.length === 1);
    const publisher = await hub.token({ publish: ["*"] });
    const updates: Record<string, string>[] = [
      { topic: a, data: "exact" },
      { topic: b, data: "pattern", private: "on" },
    ];
    for (const fields of updates) {
      assert.equal((await publish(hub, fields, { token: publisher })).status, 200);
    }
    await sub.until(() => sub.messages.length === 2);
    assert.deepEqual(
      sub.messages.map(({ raw, matched, private: isPrivate }) => ({ raw, matched, private: isPrivate })),
      [
        { raw: "exact", matched: [{ option: "match", value: a }], private: false },
        { raw: "pattern", matched: [{ option: "matchUrlPattern", value: pattern }], private: true },
      ],
    );
  });
});
