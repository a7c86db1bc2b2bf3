import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CompiledUrlPattern, compileUrlPattern } from "../src/matching/urlpattern/compile.ts";
import { MAX_PROGRAM_SIZE } from "../src/matching/urlpattern/regexp-engine.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

/**
 * URL Patterns compile to regular expressions, and V8's backtrack: a pattern such as
 * `/*a*a*a*a*a*a*a*a*a*b` against a 4 KB topic would stall the hub for ages. Subscribers choose
 * patterns, so the hub must bound the cost (draft, "URL-Pattern Denial of Service"). These tests
 * send pathological patterns and long topics and check that the hub keeps answering and still
 * matches correctly. Expected answers come from predicates written here, without regular
 * expressions; the predicates are checked against the native URLPattern on short topics (where
 * backtracking is harmless).
 */

const LONG = 4096;
const a = (n: number) => "a".repeat(n);
const MARKER = "urn:quicksilver:dos-marker";

/** Whether `text` ends with "b" and holds at least `count` "a"s before that: `*a*a…*b`. */
function starsThenB(text: string, count: number): boolean {
  if (!text.endsWith("b")) return false;
  let seen = 0;
  for (let i = 0; i < text.length - 1; i++) if (text[i] === "a") seen++;
  return seen >= count;
}

/** Whether `segment` splits into 10 non-empty pieces around 9 "-": `:a-:b-…-:j` (pieces hold no "/"). */
function tenDashedPieces(segment: string): boolean {
  if (segment.includes("/")) return false;
  let position = 0;
  for (let separator = 0; separator < 9; separator++) {
    const dash = segment.indexOf("-", position + 1);
    if (dash === -1) return false;
    position = dash + 1;
  }
  return position < segment.length;
}

function parse(topic: string, base: string): URL | undefined {
  try {
    return new URL(topic, base);
  } catch {
    return undefined;
  }
}

const isExampleHttps = (url: URL) =>
  url.protocol === "https:" && url.hostname === "example.com" && url.port === "";

interface Case {
  readonly pattern: (origin: string) => string;
  /** Whether the pattern matches `topic` (resolved against `hubUrl`). */
  readonly expected: (topic: string, hubUrl: string) => boolean;
}

const CASES: Record<string, Case> = {
  "nine stars before b": {
    pattern: () => "https://example.com/*a*a*a*a*a*a*a*a*a*b",
    expected: (topic, base) => {
      const url = parse(topic, base);
      return url !== undefined && isExampleHttps(url) && starsThenB(url.pathname.slice(1), 9);
    },
  },
  "nine stars before b, relative": {
    pattern: () => "/*a*a*a*a*a*a*a*a*a*b",
    expected: (topic, base) => {
      const url = parse(topic, base);
      const hub = new URL(base);
      return (
        url !== undefined &&
        url.protocol === hub.protocol &&
        url.host === hub.host &&
        starsThenB(url.pathname.slice(1), 9)
      );
    },
  },
  "ten named groups in one segment": {
    pattern: () => "https://example.com/:a-:b-:c-:d-:e-:f-:g-:h-:i-:j",
    expected: (topic, base) => {
      const url = parse(topic, base);
      return url !== undefined && isExampleHttps(url) && tenDashedPieces(url.pathname.slice(1));
    },
  },
  "a wildcard in every component": {
    pattern: () => "*://*:*@*:*/*a*a*a*a*b?*a*a*a*a*b#*a*a*a*a*b",
    expected: (topic, base) => {
      const url = parse(topic, base);
      return (
        url !== undefined &&
        ["http:", "https:", "ws:", "wss:", "ftp:"].includes(url.protocol) &&
        url.pathname.startsWith("/") &&
        starsThenB(url.pathname.slice(1), 4) &&
        starsThenB(url.search.slice(1), 4) &&
        starsThenB(url.hash.slice(1), 4)
      );
    },
  },
  "a nested quantifier in a regexp group": {
    pattern: () => "https://example.com/((?:a+)+)b",
    expected: (topic, base) => {
      const url = parse(topic, base);
      if (url === undefined || !isExampleHttps(url)) return false;
      const path = url.pathname;
      return path.length >= 3 && path.endsWith("b") && path.slice(1, -1) === a(path.length - 2);
    },
  },
};

/** Long topics built to make backtracking explode: almost matching, failing at the very end. */
function longTopics(origin: string): string[] {
  return [
    `https://example.com/${a(LONG)}`,
    `https://example.com/${a(LONG - 1)}b`,
    `https://example.com/${"a-".repeat(LONG / 2)}/x`,
    `https://example.com/${"a-".repeat(LONG / 2)}z`,
    `https://example.com/${a(LONG - 2)}/b`,
    `${origin}/${a(LONG)}`,
    `${origin}/${a(LONG - 1)}b`,
    `/${a(LONG - 1)}b`,
    `/${a(LONG)}`,
    `https://u:p@example.com:8443/${a(1300)}b?${a(1300)}b#${a(1300)}b`,
    `https://example.com/${a(1300)}b?${a(1300)}b#${a(1300)}`,
    `https://example.com/${a(1300)}?${a(1300)}b#${a(1300)}b`,
  ];
}

describe("URL Pattern denial of service", { timeout: 20_000 }, () => {
  let hub: TestHub;
  let token: string;
  const streams: Stream[] = [];

  before(async () => {
    // Exact matchers of 4 KB topics need a larger pattern limit than the default.
    hub = await startTestHub({ anonymous: true, "max-pattern-length": "8192" });
    token = await hub.token({ publish: ["*"] });
  });
  after(async () => {
    for (const stream of streams) stream.close();
    await hub.close();
  });

  it("checks the expectations of this file against URLPattern on short topics", () => {
    const origin = "http://127.0.0.1:4000";
    const base = `${origin}/.well-known/mercure`;
    const short = [
      "https://example.com/aaaaaaaaab",
      "https://example.com/aaaaaaaab",
      "https://example.com/aaaaaaaaa",
      "https://example.com/aaaaa/aaaab",
      "https://example.com/a-a-a-a-a-a-a-a-a-a",
      "https://example.com/a-a-a-a-a-a-a-a-a",
      "https://example.com/a-a-a-a-a-a-a-a-a--",
      "https://example.com/a-a-a-a-a-a-a-a-a-a/x",
      "https://example.com/ab",
      "https://example.com/b",
      "https://example.com/aab",
      "https://example.com/aaba",
      "https://example.com:8443/aaaaaaaaab",
      "http://example.com/aaaaaaaaab",
      `${origin}/aaaaaaaaab`,
      "/aaaaaaaaab",
      "/aaaaaaaab",
      "https://u:p@example.com:8443/aaaab?aaaab#aaaab",
      "https://example.com/aaaab?aaaab#aaaa",
      "https://example.com/aaaab?aaab#aaaab",
      "urn:aaaab",
    ];
    for (const [name, { pattern, expected }] of Object.entries(CASES)) {
      const native = new URLPattern(pattern(origin), base);
      for (const topic of short) {
        assert.equal(expected(topic, base), native.test(topic, base), `${name}: ${topic}`);
      }
    }
  });

  it("keeps answering, and matches correctly, with pathological patterns and 4 KB topics", async () => {
    const topics = longTopics(hub.origin);
    // A subscriber of every long topic by exact match: too long for a URL, so sent as QUERY.
    const exact = await openStream(hub.hubUrl, {
      method: "QUERY",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(
        [...topics, MARKER].map((topic): [string, string] => ["match", topic]),
      ).toString(),
    });
    streams.push(exact);
    assert.equal(exact.status, 200, exact.status === 200 ? "" : await exact.body);
    const everything = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]));
    streams.push(everything);

    const pathological: [string, Case, Stream][] = [];
    for (const [name, test] of Object.entries(CASES)) {
      const stream = await openStream(
        subscribeUrl(hub.hubUrl, [
          ["match_urlpattern", test.pattern(hub.origin)],
          ["match", MARKER],
        ]),
      );
      streams.push(stream);
      assert.equal(stream.status, 200, `${name}: ${stream.status === 200 ? "" : await stream.body}`);
      pathological.push([name, test, stream]);
    }

    const sent: [string, string][] = [];
    for (const topic of topics) {
      const result = await publish(hub, { topic, data: "x" }, { token });
      assert.equal(result.status, 200, result.body);
      sent.push([topic, result.body]);
    }
    const marker = await publish(hub, { topic: MARKER }, { token });
    assert.equal(marker.status, 200);

    const all = [...sent.map(([, id]) => id), marker.body];
    assert.deepEqual(
      (await exact.waitForEvents(all.length)).map((event) => event.id),
      all,
    );
    assert.deepEqual(
      (await everything.waitForEvents(all.length)).map((event) => event.id),
      all,
    );
    for (const [name, test, stream] of pathological) {
      const matching = sent.filter(([topic]) => test.expected(topic, hub.hubUrl)).map(([, id]) => id);
      assert.ok(matching.length > 0, `${name}: some long topic matches (the test exercises a match)`);
      assert.deepEqual(
        (await stream.waitForEvents(matching.length + 1)).map((event) => event.id),
        [...matching, marker.body],
        name,
      );
    }
  });

  it("keeps answering with many pathological subscribers at once", async () => {
    // Distinct patterns (the hub evaluates each distinct pattern once per topic, whoever shares it).
    const subscribers: Stream[] = [];
    for (let i = 0; i < 20; i++) {
      const stream = await openStream(
        subscribeUrl(hub.hubUrl, [
          ["match_urlpattern", `https://example.com/*a*a*a*a*a*a*a*a*a*a*b${"c".repeat(i)}`],
          ["match_urlpattern", `https://example.com/:a-:b-:c-:d-:e-:f-:g-:h-:i-:j${"-x".repeat(i)}`],
          ["match", MARKER],
        ]),
      );
      streams.push(stream);
      assert.equal(stream.status, 200);
      subscribers.push(stream);
    }
    const ids: string[] = [];
    for (const topic of [
      `https://example.com/${a(LONG)}`,
      `https://example.com/${"a-".repeat(LONG / 2)}/x`,
    ]) {
      const result = await publish(hub, { topic }, { token });
      assert.equal(result.status, 200);
      ids.push(result.body);
    }
    const marker = await publish(hub, { topic: MARKER }, { token });
    for (const stream of subscribers) {
      assert.deepEqual(
        (await stream.waitForEvents(1)).map((event) => event.id),
        [marker.body],
        "no pathological subscriber matched the near misses",
      );
    }
  });

  it("answers a very long pattern of wildcards without stalling, and never over-matches", async () => {
    const pattern = `https://example.com/${"*a".repeat(500)}b`;
    const response = await fetch(
      subscribeUrl(hub.hubUrl, [
        ["match_urlpattern", pattern],
        ["match", MARKER],
      ]),
    );
    if (response.status !== 200) {
      // Refusing a pattern too costly to evaluate is a fine answer too.
      assert.equal(response.status, 400);
      await response.text();
      return;
    }
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const ids: string[] = [];
    for (const topic of [`https://example.com/${a(LONG)}`, `https://example.com/${a(LONG - 2)}/c`]) {
      const result = await publish(hub, { topic }, { token });
      assert.equal(result.status, 200);
      ids.push(result.body);
    }
    const marker = await publish(hub, { topic: MARKER }, { token });
    while (!text.includes(`id: ${marker.body}\n`)) {
      const { value, done } = await reader.read();
      assert.ok(!done, "the stream stays open");
      text += decoder.decode(value, { stream: true });
    }
    // Neither near miss ends with "b": whatever the evaluation budget says, they must not match.
    for (const id of ids) assert.ok(!text.includes(`id: ${id}\n`));
    await reader.cancel();
  });
});

describe("the matching work one subscription may hold", { timeout: 20_000 }, () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({ anonymous: true });
  });
  after(async () => {
    await hub.close();
  });

  /**
   * Each pattern's automaton is bounded (MAX_PROGRAM_SIZE instructions), but a topic costs every
   * distinct pattern its length × its size: 64 tiny patterns with counted repetitions, each within
   * the bound, had every publish of a 100-character topic take some 60 million engine steps.
   */
  it("refuses patterns that together compile to more instructions than one pattern may", async () => {
    const patterns = Array.from({ length: 64 }, (_, i) => `/:x((?:a{0,12}){0,12})-${i}`);
    const sizes = patterns.map((pattern) => compileUrlPattern(pattern, hub.hubUrl).programSize);
    assert.ok(Math.max(...sizes) < MAX_PROGRAM_SIZE, "each pattern alone is accepted");
    const total = sizes.reduce((sum, size) => sum + size, 0);
    assert.ok(total > MAX_PROGRAM_SIZE, `together they are too large (${total})`);
    for (const method of ["GET", "QUERY"]) {
      const parameters = patterns.map((pattern): [string, string] => ["match_urlpattern", pattern]);
      const response =
        method === "GET"
          ? await fetch(subscribeUrl(hub.hubUrl, parameters))
          : await fetch(hub.hubUrl, {
              method,
              headers: { "Content-Type": "application/x-www-form-urlencoded" },
              body: new URLSearchParams(parameters).toString(),
            });
      if (response.status === 200) {
        await response.body!.cancel();
        assert.fail(`${method}: the subscription was accepted`);
      }
      const body = await response.text();
      assert.equal(response.status, 400, `${method}: ${body}`);
      assert.equal(JSON.parse(body).code, "matchers_too_complex", method);
    }
  });

  it("lets other requests in while it replays history through costly patterns", async () => {
    const token = await hub.token({ publish: ["*"] });
    // 200 updates: fewer than a replay used to examine between two turns of the event loop.
    for (let i = 0; i < 200; i++) {
      const result = await publish(hub, { topic: `/${a(100)}${i}` }, { token });
      assert.equal(result.status, 200);
    }
    const marker = await publish(hub, { topic: MARKER }, { token });
    // Some 9,800 instructions together, within the bound, each live on every "a": about a million
    // engine steps for each update replayed.
    const patterns = Array.from({ length: 32 }, (_, i) => `/:x((?:a{0,12}){0,12})-${i}`);
    const replaying = await openStream(hub.hubUrl, {
      method: "QUERY",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams([
        ...patterns.map((pattern): [string, string] => ["match_urlpattern", pattern]),
        ["match", MARKER],
        ["last_event_id", "earliest"],
      ]).toString(),
    });
    assert.equal(replaying.status, 200, replaying.status === 200 ? "" : await replaying.body);
    // Sent once the replay has begun; the last update replayed is the marker.
    const order: string[] = [];
    const health = fetch(new URL("/healthz", hub.origin)).then(async (response) => {
      await response.text();
      order.push("healthz");
    });
    const [event] = await replaying.waitForEvents(1);
    order.push("replay done");
    await health;
    assert.equal(event!.id, marker.body);
    assert.deepEqual(order, ["healthz", "replay done"]);
    replaying.close();
  });

  it("lets the event loop run while it compiles many long patterns", async () => {
    // Fixed text, no automaton: within every bound, yet compiling 64 of them takes a while.
    const patterns = Array.from({ length: 64 }, (_, i) => `/${"é".repeat(2000)}${i}*`);
    // Each compiled URL Pattern is asked its route once, as it is compiled (the hub runs in this
    // process): note the turn of the event loop in which each one is compiled.
    let turn = 0;
    const turns = new Set<number>();
    const originalRoute = CompiledUrlPattern.prototype.route;
    CompiledUrlPattern.prototype.route = function (this: CompiledUrlPattern) {
      turns.add(turn);
      return originalRoute.call(this);
    };
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    try {
      const stream = await openStream(hub.hubUrl, {
        method: "QUERY",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(
          patterns.map((pattern): [string, string] => ["match_urlpattern", pattern]),
        ).toString(),
      });
      assert.equal(stream.status, 200, stream.status === 200 ? "" : await stream.body);
      stream.close();
    } finally {
      ticking = false;
      CompiledUrlPattern.prototype.route = originalRoute;
    }
    assert.ok(turns.size > 1, "the 64 patterns were compiled in one turn of the event loop");
  });

  it("accepts as many ordinary patterns as a subscription may have", async () => {
    const patterns = Array.from(
      { length: 64 },
      (_, i) => `https://example.com/users/:id/notifications/:kind(\\d+)-${i}{/*}?`,
    );
    const stream = await openStream(
      subscribeUrl(
        hub.hubUrl,
        patterns.map((pattern): [string, string] => ["match_urlpattern", pattern]),
      ),
    );
    assert.equal(stream.status, 200, stream.status === 200 ? "" : await stream.body);
    stream.close();
  });
});
