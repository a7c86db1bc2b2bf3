/**
 * The legacy (0.x) dialect end to end, on real sockets: what a hub without `--legacy` answers to
 * it, and with `--legacy` the `topic=` selectors, the relaxed `mercure`-claim tokens beside
 * draft-08 ones, the legacy ways of presenting a token, the `lastEventID` cursor with its
 * `Last-Event-ID` response header, and tokens in URLs kept out of the logs.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { resolveServeConfig } from "../src/cli/resolve-config.ts";
import { startHub } from "../src/cli/start-hub.ts";
import type { Logger } from "../src/hub/logger.ts";
import {
  accessClaims,
  detail,
  formHeaders,
  parseChallenge,
  rawRequest,
  signJwt,
  unsignedJwt,
} from "./helpers/auth.ts";
import { eventsBefore, LEGACY_COOKIE, legacyToken, startLegacyHub } from "./helpers/legacy.ts";
import { watchSubscribeResponses } from "./helpers/server-streams.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { ISSUER, publish, SECRET, startTestHub, type TestHub } from "./helpers/test-hub.ts";

const OTHER_SECRET = "another-secret-that-is-long-enough-for-hs256";
const DEFAULT_COOKIE = "__Secure-mercure_access_token";
const BOOKS = "https://example.com/books/{id}";
const MARKER = "https://example.com/marker";
const secret = new TextEncoder().encode(SECRET);

interface Problem {
  readonly code: string;
  readonly detail: string;
}

function problemOf(body: string): Problem {
  return JSON.parse(body) as Problem;
}

/** The hub URL with these query parameters (in order, repeats kept). */
function hubWith(hub: TestHub, parameters: [string, string][]): string {
  return subscribeUrl(hub.hubUrl, parameters);
}

/** A GET on the hub with `parameters`, answered with a body (a refusal) or a stream's head. */
function get(hub: TestHub, parameters: [string, string][], headers: Record<string, string> = {}) {
  return rawRequest(hubWith(hub, parameters), { headers: { Accept: "text/event-stream", ...headers } });
}

/** Opens a subscriber stream (whatever the status: a refusal's body is in `stream.body`). */
function subscribe(
  hub: TestHub,
  parameters: [string, string][],
  headers: Record<string, string> = {},
): Promise<Stream> {
  return openStream(hubWith(hub, parameters), { headers });
}

function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

async function opened(stream: Stream): Promise<Stream> {
  assert.equal(stream.status, 200, stream.status === 200 ? "" : await stream.body);
  return stream;
}

/** Claims of a legacy token, exactly as given (no typ, aud, iss or exp unless added). */
function mercure(claim: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mercure: claim, ...extra };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Publishing on one hub, with an everything-granting draft-08 token, and the ordered-marker
 * check: a marker before and one after an action, adjacent in a `*` watcher's stream, prove that
 * nothing was dispatched in between, whatever other tests published.
 */
class Publisher {
  readonly hub: TestHub;
  readonly #token: string;
  readonly #watcher: Stream;

  private constructor(hub: TestHub, token: string, watcher: Stream) {
    this.hub = hub;
    this.#token = token;
    this.#watcher = watcher;
  }

  static async on(hub: TestHub): Promise<Publisher> {
    const watcher = await opened(
      await subscribe(hub, [["match", "*"]], bearer(await hub.token({ subscribe: ["*"] }))),
    );
    return new Publisher(hub, await hub.token({ publish: ["*"] }), watcher);
  }

  /** Publishes and returns the update's id. */
  async send(
    topics: string | string[],
    options: { private?: boolean; data?: string; id?: string } = {},
  ): Promise<string> {
    const fields: [string, string][] = (Array.isArray(topics) ? topics : [topics]).map((topic) => [
      "topic",
      topic,
    ]);
    fields.push(["data", options.data ?? "x"]);
    if (options.id !== undefined) fields.push(["id", options.id]);
    if (options.private === true) fields.push(["private", "on"]);
    const result = await publish(this.hub, fields, { token: this.#token });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  /** Publishes a public marker, returned once the watcher received it. */
  async marker(topic = MARKER): Promise<string> {
    const id = await this.send(topic, { data: "marker" });
    await eventsBefore(this.#watcher, id);
    return id;
  }

  async nothingDispatchedDuring<T>(action: () => Promise<T>): Promise<T> {
    const first = await this.marker();
    const result = await action();
    const second = await this.marker();
    const ids = this.#watcher.events.map((event) => event.id);
    assert.equal(
      ids.indexOf(second),
      ids.indexOf(first) + 1,
      "the two markers are adjacent: nothing was dispatched between them",
    );
    return result;
  }

  close(): void {
    this.#watcher.close();
  }
}

/** The ids of the events a stream received before `marker`. */
async function idsBefore(stream: Stream, marker: string): Promise<string[]> {
  return (await eventsBefore(stream, marker)).map((event) => event.id);
}

/** A form POST to the hub with the query `parameters` (to carry `authorization=`). */
function post(
  hub: TestHub,
  parameters: [string, string][],
  body: string,
  headers: Record<string, string | string[]> = {},
) {
  return rawRequest(hubWith(hub, parameters), { method: "POST", headers: formHeaders(headers), body });
}

describe("a hub without --legacy", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let publisher: Publisher;

  before(async () => {
    hub = await startTestHub();
    publisher = await Publisher.on(hub);
  });
  after(async () => {
    publisher.close();
    await hub.close();
  });

  it("refuses topic= with 400 legacy_topic_parameter, naming match= and --legacy", async () => {
    for (const headers of [{}, bearer(await hub.token({ subscribe: ["*"] }))]) {
      const result = await get(hub, [["topic", "https://example.com/a"]], headers);
      assert.equal(result.status, 400, result.body);
      const problem = problemOf(result.body);
      assert.equal(problem.code, "legacy_topic_parameter");
      assert.match(problem.detail, /match=/);
      assert.match(problem.detail, /--legacy/);
    }
  });

  it("refuses lastEventID= with 400 legacy_last_event_id_parameter, naming last_event_id and --legacy", async () => {
    const result = await get(
      hub,
      [
        ["match", "https://example.com/a"],
        ["lastEventID", "urn:uuid:whatever"],
      ],
      bearer(await hub.token({ subscribe: ["*"] })),
    );
    assert.equal(result.status, 400, result.body);
    const problem = problemOf(result.body);
    assert.equal(problem.code, "legacy_last_event_id_parameter");
    assert.match(problem.detail, /last_event_id/);
    assert.match(problem.detail, /--legacy/);
  });

  it("refuses an authorization= query parameter on subscribe with 400 legacy_authorization_parameter", async () => {
    const token = await hub.token({ subscribe: ["*"] });
    const result = await get(hub, [
      ["match", "https://example.com/a"],
      ["authorization", token],
    ]);
    assert.equal(result.status, 400, result.body);
    const problem = problemOf(result.body);
    assert.equal(problem.code, "legacy_authorization_parameter");
    assert.match(problem.detail, /--legacy/);
  });

  it("refuses an authorization= query parameter on publish with 400, dispatching nothing", async () => {
    const token = await hub.token({ publish: ["*"] });
    const result = await publisher.nothingDispatchedDuring(() =>
      post(hub, [["authorization", token]], "topic=https://example.com/a&data=x"),
    );
    assert.equal(result.status, 400, result.body);
    assert.equal(problemOf(result.body).code, "legacy_authorization_parameter");
  });

  it("refuses a request whose only token is the mercureAuthorization cookie with 400 legacy_cookie", async () => {
    const subscriber = await hub.token({ subscribe: ["*"] });
    const stream = await get(hub, [["match", "https://example.com/a"]], {
      Cookie: `${LEGACY_COOKIE}=${subscriber}`,
    });
    assert.equal(stream.status, 400, stream.body);
    const problem = problemOf(stream.body);
    assert.equal(problem.code, "legacy_cookie");
    assert.match(problem.detail, /--legacy/);

    const token = await hub.token({ publish: ["*"] });
    const published = await publisher.nothingDispatchedDuring(() =>
      post(hub, [], "topic=https://example.com/a&data=x", {
        Cookie: `${LEGACY_COOKIE}=${token}`,
        Origin: hub.origin,
      }),
    );
    assert.equal(published.status, 400, published.body);
    assert.equal(problemOf(published.body).code, "legacy_cookie");
  });

  it("ignores the mercureAuthorization cookie next to the modern cookie", async () => {
    const token = await hub.token({ subscribe: ["https://example.com/a"] });
    const result = await get(hub, [["match", "https://example.com/a"]], {
      Cookie: `${LEGACY_COOKIE}=garbage; ${DEFAULT_COOKIE}=${token}`,
    });
    assert.equal(result.status, 200, result.body);
  });

  it("refuses a legacy token in the Authorization header with 401 invalid_token", async () => {
    const token = await legacyToken({ publish: ["*"], subscribe: ["*"] });
    const stream = await get(hub, [["match", "https://example.com/a"]], bearer(token));
    assert.equal(stream.status, 401, stream.body);
    assert.equal(parseChallenge(stream.headers["www-authenticate"] as string).params.error, "invalid_token");
    const published = await publisher.nothingDispatchedDuring(() =>
      publish(hub, { topic: "https://example.com/a", data: "x" }, { token }),
    );
    assert.equal(published.status, 401, published.body);
    assert.equal(
      parseChallenge(published.headers.get("www-authenticate") ?? undefined).params.error,
      "invalid_token",
    );
  });
});

describe("legacy topic= selectors", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let publisher: Publisher;
  /** A legacy token reading public updates only. */
  let reader: string;

  before(async () => {
    hub = await startLegacyHub();
    publisher = await Publisher.on(hub);
    reader = await legacyToken({ subscribe: [] });
  });
  after(async () => {
    publisher.close();
    await hub.close();
  });

  async function open(parameters: [string, string][]): Promise<Stream> {
    return opened(await subscribe(hub, [...parameters, ["topic", MARKER]], bearer(reader)));
  }

  it("matches an exact topic as a string", async () => {
    const stream = await open([["topic", "https://example.com/books/1"]]);
    const one = await publisher.send("https://example.com/books/1");
    await publisher.send("https://example.com/books/10");
    await publisher.send("https://example.com/books/1/");
    assert.deepEqual(await idsBefore(stream, await publisher.marker()), [one]);
    stream.close();
  });

  it("matches a URI template: /books/{id} gets /books/1, not /books/1/reviews", async () => {
    const stream = await open([["topic", BOOKS]]);
    const one = await publisher.send("https://example.com/books/1");
    await publisher.send("https://example.com/books/1/reviews");
    await publisher.send("https://example.com/authors/1");
    const two = await publisher.send("https://example.com/books/two");
    assert.deepEqual(await idsBefore(stream, await publisher.marker()), [one, two]);
    stream.close();
  });

  it("matches every topic with *", async () => {
    const stream = await open([["topic", "*"]]);
    const a = await publisher.send("https://example.com/anything");
    const b = await publisher.send("urn:example:not-a-url");
    assert.deepEqual(await idsBefore(stream, await publisher.marker()), [a, b]);
    stream.close();
  });

  it("mixes topic= with match= and match_urlpattern= in one request", async () => {
    const stream = await open([
      ["topic", "https://example.com/mixed/{x}"],
      ["match", "https://example.com/exact"],
      ["match_urlpattern", "https://example.com/pattern/*"],
    ]);
    const ids = [
      await publisher.send("https://example.com/mixed/1"),
      await publisher.send("https://example.com/exact"),
      await publisher.send("https://example.com/pattern/a/b"),
    ];
    await publisher.send("https://example.com/mixed/1/2");
    await publisher.send("https://example.com/exact/no");
    assert.deepEqual(await idsBefore(stream, await publisher.marker()), ids);
    stream.close();
  });

  it("delivers an update once even when several selectors (and several of its topics) match", async () => {
    const stream = await open([
      ["topic", BOOKS],
      ["topic", "https://example.com/books/1"],
      ["topic", "*"],
      ["match", "https://example.com/books/1"],
      ["match_urlpattern", "https://example.com/books/*"],
    ]);
    const single = await publisher.send("https://example.com/books/1");
    const both = await publisher.send(["https://example.com/books/2", "https://example.com/books/3"]);
    assert.deepEqual(await idsBefore(stream, await publisher.marker("https://example.com/other-marker")), [
      single,
      both,
    ]);
    stream.close();
  });

  it("keeps a URL Pattern and a URI Template of the same text apart", async () => {
    // As a URL Pattern, `{books}` is a group holding the text "books"; as a URI Template, a variable.
    const text = "https://example.com/shelf/{books}";
    const pattern = await open([["match_urlpattern", text]]);
    const template = await open([["topic", text]]);
    const books = await publisher.send("https://example.com/shelf/books");
    const novels = await publisher.send("https://example.com/shelf/novels");
    const marker = await publisher.marker();
    assert.deepEqual(await idsBefore(pattern, marker), [books]);
    assert.deepEqual(await idsBefore(template, marker), [books, novels]);
    pattern.close();
    template.close();
  });

  it("refuses an invalid URI template with 400 uritemplate_syntax", async () => {
    const result = await get(hub, [["topic", "https://example.com/{unclosed"]], bearer(reader));
    assert.equal(result.status, 400, result.body);
    assert.equal(problemOf(result.body).code, "uritemplate_syntax");
  });

  it("still needs a token on a hub without anonymous access", async () => {
    const result = await get(hub, [["topic", "*"]]);
    assert.equal(result.status, 401, result.body);
  });

  it("refuses with 406 not_acceptable a subscriber whose Accept excludes text/event-stream", async () => {
    const result = await get(hub, [["topic", "*"]], { ...bearer(reader), Accept: "application/ld+json" });
    assert.equal(result.status, 406, result.body);
    assert.equal(problemOf(result.body).code, "not_acceptable");
  });
});

describe("legacy tokens", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let publisher: Publisher;

  before(async () => {
    hub = await startLegacyHub();
    publisher = await Publisher.on(hub);
  });
  after(async () => {
    publisher.close();
    await hub.close();
  });

  function publishWith(token: string, topics: string[] = ["https://example.com/legacy"]) {
    return publish(hub, [...topics.map((topic): [string, string] => ["topic", topic]), ["data", "x"]], {
      token,
    });
  }

  const accepted: [string, () => Promise<string>][] = [
    ["HS256 with no typ, aud, iss or exp", () => legacyToken({ publish: ["*"] })],
    ["an exp in the future", () => legacyToken({ publish: ["*"], ttlSeconds: 600 })],
    ["typ JWT", () => signJwt({ alg: "HS256", typ: "JWT" }, mercure({ publish: ["*"] }), secret)],
    [
      "the namespaced claim https://mercure.rocks/",
      () => signJwt({ alg: "HS256" }, { "https://mercure.rocks/": { publish: ["*"] } }, secret),
    ],
    [
      "the configured issuer's iss",
      () => signJwt({ alg: "HS256" }, mercure({ publish: ["*"] }, { iss: ISSUER }), secret),
    ],
    [
      "an aud that is not this hub (not checked for legacy tokens)",
      () =>
        signJwt({ alg: "HS256" }, mercure({ publish: ["*"] }, { aud: "https://elsewhere.example" }), secret),
    ],
    [
      "an iss that names no configured issuer (the old hub ignored iss: the legacy keys verify it)",
      () => signJwt({ alg: "HS256" }, mercure({ publish: ["*"] }, { iss: "https://unknown.test" }), secret),
    ],
  ];
  for (const [what, make] of accepted) {
    it(`accepts a legacy token with ${what} for publishing with publish: ["*"]`, async () => {
      const result = await publishWith(await make());
      assert.equal(result.status, 200, result.body);
    });
  }

  const refused: [string, () => Promise<string>][] = [
    [
      "an exp in the past",
      () => signJwt({ alg: "HS256" }, mercure({ publish: ["*"] }, { exp: nowSeconds() - 120 }), secret),
    ],
    [
      "an nbf in the future",
      () => signJwt({ alg: "HS256" }, mercure({ publish: ["*"] }, { nbf: nowSeconds() + 600 }), secret),
    ],
    ["alg none", async () => unsignedJwt({ alg: "none" }, mercure({ publish: ["*"] }))],
    ["another secret", () => legacyToken({ publish: ["*"] }, OTHER_SECRET)],
    ["publish as a string", () => signJwt({ alg: "HS256" }, mercure({ publish: "*" }), secret)],
    ['publish: "x"', () => signJwt({ alg: "HS256" }, mercure({ publish: "x" }), secret)],
    ["a non-string publish entry", () => signJwt({ alg: "HS256" }, mercure({ publish: ["*", 1] }), secret)],
    [
      "a non-string subscribe entry",
      () => signJwt({ alg: "HS256" }, mercure({ publish: ["*"], subscribe: [null] }), secret),
    ],
    [
      "subscribe as an object",
      () => signJwt({ alg: "HS256" }, mercure({ publish: ["*"], subscribe: {} }), secret),
    ],
    ["a claim that is not an object", () => signJwt({ alg: "HS256" }, mercure(["*"]), secret)],
    [
      "an invalid URI template in the claim",
      () => signJwt({ alg: "HS256" }, mercure({ publish: ["*", "https://example.com/{unclosed"] }), secret),
    ],
  ];
  for (const [what, make] of refused) {
    it(`refuses a legacy token with ${what}: 401 invalid_token on publish and subscribe`, async () => {
      const token = await make();
      const result = await publisher.nothingDispatchedDuring(() => publishWith(token));
      assert.equal(result.status, 401, result.body);
      assert.equal(
        parseChallenge(result.headers.get("www-authenticate") ?? undefined).params.error,
        "invalid_token",
      );
      const stream = await get(hub, [["topic", "*"]], bearer(token));
      assert.equal(stream.status, 401, stream.body);
    });
  }

  it("refuses with 403 an update with two topics when only one is granted, dispatching nothing", async () => {
    const token = await legacyToken({ publish: ["https://example.com/mine"] });
    const result = await publisher.nothingDispatchedDuring(() =>
      publishWith(token, ["https://example.com/mine", "https://example.com/theirs"]),
    );
    assert.equal(result.status, 403, result.body);
    assert.equal(problemOf(result.body).code, "insufficient_scope");
    const alone = await publishWith(token, ["https://example.com/mine"]);
    assert.equal(alone.status, 200, alone.body);
  });

  it("grants publish through a URI template", async () => {
    const token = await legacyToken({ publish: [BOOKS] });
    assert.equal((await publishWith(token, ["https://example.com/books/1"])).status, 200);
    const refused = await publisher.nothingDispatchedDuring(() =>
      publishWith(token, ["https://example.com/books/1/reviews"]),
    );
    assert.equal(refused.status, 403, refused.body);
  });

  it("grants nothing without the claim: subscribing to public updates works, publishing is refused", async () => {
    const token = await signJwt({ alg: "HS256" }, { sub: "someone" }, secret);
    const stream = await opened(await subscribe(hub, [["topic", MARKER]], bearer(token)));
    const result = await publisher.nothingDispatchedDuring(() => publishWith(token));
    assert.equal(result.status, 403, result.body);
    stream.close();
  });

  it("reads private updates with the namespaced claim", async () => {
    const token = await signJwt(
      { alg: "HS256" },
      { "https://mercure.rocks/": { subscribe: [BOOKS] } },
      secret,
    );
    const stream = await opened(
      await subscribe(
        hub,
        [
          ["topic", BOOKS],
          ["topic", MARKER],
        ],
        bearer(token),
      ),
    );
    const id = await publisher.send("https://example.com/books/ns", { private: true });
    assert.deepEqual(await idsBefore(stream, await publisher.marker()), [id]);
    stream.close();
  });

  it("prefers the namespaced claim when both are present", async () => {
    const token = await signJwt(
      { alg: "HS256" },
      { mercure: { publish: ["*"] }, "https://mercure.rocks/": { publish: ["https://example.com/ns-only"] } },
      secret,
    );
    assert.equal((await publishWith(token, ["https://example.com/ns-only"])).status, 200);
    const refused = await publisher.nothingDispatchedDuring(() =>
      publishWith(token, ["https://example.com/else"]),
    );
    assert.equal(refused.status, 403, refused.body);
  });
});

describe("legacy and draft-08 tokens on one hub", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let publisher: Publisher;

  before(async () => {
    hub = await startLegacyHub();
    publisher = await Publisher.on(hub);
  });
  after(async () => {
    publisher.close();
    await hub.close();
  });

  it("delivers a private update published with a draft-08 token to a legacy-token subscriber", async () => {
    const token = await legacyToken({ subscribe: [BOOKS] });
    const stream = await opened(
      await subscribe(
        hub,
        [
          ["topic", BOOKS],
          ["topic", MARKER],
        ],
        bearer(token),
      ),
    );
    const modern = await hub.token({ publish: ["https://example.com/books/7"] });
    const result = await publish(
      hub,
      { topic: "https://example.com/books/7", data: "private", private: "on" },
      { token: modern },
    );
    assert.equal(result.status, 200, result.body);
    assert.deepEqual(await idsBefore(stream, await publisher.marker()), [result.body]);
    stream.close();
  });

  it("delivers a private update published with a legacy token to a draft-08 subscriber", async () => {
    const token = await hub.token({ subscribeUrlPattern: ["https://example.com/legacy/*"] });
    const stream = await opened(
      await subscribe(
        hub,
        [
          ["match_urlpattern", "https://example.com/legacy/*"],
          ["match", MARKER],
        ],
        bearer(token),
      ),
    );
    const legacy = await legacyToken({ publish: ["https://example.com/legacy/{id}"] });
    const result = await publish(
      hub,
      { topic: "https://example.com/legacy/1", data: "private", private: "on" },
      { token: legacy },
    );
    assert.equal(result.status, 200, result.body);
    assert.deepEqual(await idsBefore(stream, await publisher.marker()), [result.body]);
    stream.close();
  });

  it("withholds a private update from a legacy token that does not cover its topic", async () => {
    const narrow = await legacyToken({ subscribe: ["https://example.com/other/{id}"] });
    const stream = await opened(await subscribe(hub, [["topic", "*"]], bearer(narrow)));
    await publisher.send("https://example.com/books/secret", { private: true });
    const covered = await publisher.send("https://example.com/other/1", { private: true });
    const open = await publisher.send("https://example.com/books/public");
    assert.deepEqual(await idsBefore(stream, await publisher.marker()), [covered, open]);
    stream.close();
  });

  /** A draft-08 token granting everything, with a header and claims changed from a valid one. */
  const modern =
    (header: { typ?: string }, changes: Record<string, unknown> = {}, audience?: string) =>
    () =>
      signJwt(
        { alg: "HS256", ...header },
        accessClaims(
          ISSUER,
          audience ?? hub.resourceIdentifier,
          [detail(["publish", "subscribe"], [{ match: "*" }])],
          changes,
        ),
        secret,
      );
  const modernRefused: [string, () => Promise<string>][] = [
    ["no typ", modern({})],
    ["typ JWT", modern({ typ: "JWT" })],
    ["a wrong aud", modern({ typ: "at+jwt" }, {}, "https://other-hub.example/.well-known/mercure")],
    ["no aud", modern({ typ: "at+jwt" }, { aud: undefined })],
    ["no iss", modern({ typ: "at+jwt" }, { iss: undefined })],
    ["no exp", modern({ typ: "at+jwt" }, { exp: undefined })],
    [
      "a mercure claim as well (authorization_details decides the profile)",
      modern({}, { mercure: { publish: ["*"], subscribe: ["*"] } }),
    ],
  ];
  for (const [what, make] of modernRefused) {
    it(`still refuses a draft-08 token (authorization_details) with ${what}`, async () => {
      const token = await make();
      const result = await publisher.nothingDispatchedDuring(() =>
        publish(hub, { topic: "https://example.com/modern", data: "x" }, { token }),
      );
      assert.equal(result.status, 401, result.body);
      const stream = await get(hub, [["match", "*"]], bearer(token));
      assert.equal(stream.status, 401, stream.body);
    });
  }
});

describe("legacy token presentation", { timeout: 30_000 }, () => {
  const APP = "https://app.example.com";
  let hub: TestHub;
  let publisher: Publisher;
  const TOPIC = "https://example.com/presented";

  before(async () => {
    hub = await startLegacyHub({ "publish-origins": APP });
    publisher = await Publisher.on(hub);
  });
  after(async () => {
    publisher.close();
    await hub.close();
  });

  /** Subscribes to TOPIC and MARKER; returns the stream once private TOPIC updates are proved readable. */
  async function provesPrivateAccess(
    parameters: [string, string][],
    headers: Record<string, string>,
  ): Promise<void> {
    const stream = await opened(
      await subscribe(hub, [["topic", TOPIC], ["topic", MARKER], ...parameters], headers),
    );
    const id = await publisher.send(TOPIC, { private: true });
    assert.deepEqual(await idsBefore(stream, await publisher.marker()), [id]);
    stream.close();
  }

  it("reads a token from the authorization query parameter to subscribe", async () => {
    const token = await legacyToken({ subscribe: [TOPIC] });
    await provesPrivateAccess([["authorization", token]], {});
  });

  it("reads a draft-08 token from the authorization query parameter too", async () => {
    const token = await hub.token({ subscribe: [TOPIC] });
    await provesPrivateAccess([["authorization", token]], {});
  });

  it("reads a token from the authorization query parameter to publish", async () => {
    const token = await legacyToken({ publish: [TOPIC] });
    const result = await post(hub, [["authorization", token]], `topic=${encodeURIComponent(TOPIC)}&data=x`);
    assert.equal(result.status, 200, result.body);
  });

  it("refuses two authorization query parameters with 400 invalid_request", async () => {
    const token = await legacyToken({ publish: ["*"], subscribe: ["*"] });
    const twice: [string, string][] = [
      ["authorization", token],
      ["authorization", token],
    ];
    const stream = await get(hub, [["topic", TOPIC], ...twice]);
    assert.equal(stream.status, 400, stream.body);
    assert.equal(
      parseChallenge(stream.headers["www-authenticate"] as string).params.error,
      "invalid_request",
    );
    const result = await publisher.nothingDispatchedDuring(() =>
      post(hub, twice, `topic=${encodeURIComponent(TOPIC)}&data=x`),
    );
    assert.equal(result.status, 400, result.body);
  });

  it("refuses an authorization query parameter that is not a JWS with 400", async () => {
    const stream = await get(hub, [
      ["topic", TOPIC],
      ["authorization", "not a token"],
    ]);
    assert.equal(stream.status, 400, stream.body);
  });

  it("uses the Authorization header over the query parameter", async () => {
    const good = await legacyToken({ subscribe: [TOPIC] });
    const bad = await legacyToken({ subscribe: [TOPIC] }, OTHER_SECRET);
    await provesPrivateAccess([["authorization", bad]], bearer(good));
    const refused = await get(
      hub,
      [
        ["topic", TOPIC],
        ["authorization", good],
      ],
      bearer(bad),
    );
    assert.equal(refused.status, 401, refused.body);

    const publishToken = await legacyToken({ publish: [TOPIC] });
    const badPublish = await legacyToken({ publish: [TOPIC] }, OTHER_SECRET);
    const body = `topic=${encodeURIComponent(TOPIC)}&data=x`;
    const headerWins = await post(hub, [["authorization", badPublish]], body, bearer(publishToken));
    assert.equal(headerWins.status, 200, headerWins.body);
    const headerRefused = await publisher.nothingDispatchedDuring(() =>
      post(hub, [["authorization", publishToken]], body, bearer(badPublish)),
    );
    assert.equal(headerRefused.status, 401, headerRefused.body);
  });

  it("reads a token from the mercureAuthorization cookie", async () => {
    const token = await legacyToken({ subscribe: [TOPIC] });
    await provesPrivateAccess([], { Cookie: `${LEGACY_COOKIE}=${token}` });
  });

  it("uses the modern cookie over the mercureAuthorization cookie", async () => {
    const good = await hub.token({ subscribe: [TOPIC] });
    const bad = await legacyToken({ subscribe: [TOPIC] }, OTHER_SECRET);
    await provesPrivateAccess([], { Cookie: `${LEGACY_COOKIE}=${bad}; ${DEFAULT_COOKIE}=${good}` });
    const refused = await get(hub, [["topic", TOPIC]], {
      Cookie: `${LEGACY_COOKIE}=${await legacyToken({ subscribe: [TOPIC] })}; ${DEFAULT_COOKIE}=${bad}`,
    });
    assert.equal(refused.status, 401, refused.body);
  });

  it("accepts a mercureAuthorization cookie publish only from an allowed Origin", async () => {
    const token = await legacyToken({ publish: [TOPIC] });
    const body = `topic=${encodeURIComponent(TOPIC)}&data=x`;
    for (const origin of [undefined, "https://evil.example"]) {
      const result = await publisher.nothingDispatchedDuring(() =>
        post(hub, [], body, {
          Cookie: `${LEGACY_COOKIE}=${token}`,
          ...(origin === undefined ? {} : { Origin: origin }),
        }),
      );
      assert.equal(result.status, 403, result.body);
      assert.equal(problemOf(result.body).code, "origin_refused");
    }
    const allowed = await post(hub, [], body, { Cookie: `${LEGACY_COOKIE}=${token}`, Origin: APP });
    assert.equal(allowed.status, 200, allowed.body);
  });

  it("needs no Origin for a publish with the token in the query (not an ambient credential)", async () => {
    const token = await legacyToken({ publish: [TOPIC] });
    const result = await post(hub, [["authorization", token]], `topic=${encodeURIComponent(TOPIC)}&data=x`, {
      Origin: "https://evil.example",
    });
    assert.equal(result.status, 200, result.body);
  });
});

describe("the legacy cursor", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let publisher: Publisher;
  let topicCount = 0;

  before(async () => {
    hub = await startLegacyHub({ "history-size": "100" });
    publisher = await Publisher.on(hub);
  });
  after(async () => {
    publisher.close();
    await hub.close();
  });

  /** A fresh topic with three updates published to it. */
  async function history(): Promise<{ topic: string; ids: string[] }> {
    const topic = `https://example.com/history/${++topicCount}`;
    const ids = [await publisher.send(topic), await publisher.send(topic), await publisher.send(topic)];
    return { topic, ids };
  }

  /** The ids the stream received before a new marker, earlier markers (replayed too) left out. */
  async function replayed(stream: Stream): Promise<string[]> {
    const events = await eventsBefore(stream, await publisher.marker());
    return events.filter((event) => event.data !== "marker").map((event) => event.id);
  }

  it("replays what followed lastEventID, answering both Last-Event-ID and Mercure-Last-Event-ID", async () => {
    const { topic, ids } = await history();
    const stream = await opened(
      await subscribe(
        hub,
        [
          ["match", topic],
          ["match", MARKER],
          ["lastEventID", ids[0]!],
        ],
        bearer(await hub.token({ subscribe: [] })),
      ),
    );
    assert.equal(stream.headers["mercure-last-event-id"], ids[0]);
    assert.equal(stream.headers["last-event-id"], ids[0]);
    assert.deepEqual(await replayed(stream), ids.slice(1));
    stream.close();
  });

  it("prefers last_event_id over lastEventID", async () => {
    const { topic, ids } = await history();
    for (const order of [
      [
        ["lastEventID", ids[0]!],
        ["last_event_id", ids[1]!],
      ],
      [
        ["last_event_id", ids[1]!],
        ["lastEventID", ids[0]!],
      ],
    ] as [string, string][][]) {
      const stream = await opened(
        await subscribe(hub, [["topic", topic], ["topic", MARKER], ...order], bearer(await legacyToken({}))),
      );
      assert.equal(stream.headers["mercure-last-event-id"], ids[1]);
      assert.equal(stream.headers["last-event-id"], ids[1]);
      assert.deepEqual(await replayed(stream), ids.slice(2));
      stream.close();
    }
  });

  it("prefers the Last-Event-ID request header over both parameters", async () => {
    const { topic, ids } = await history();
    const stream = await opened(
      await subscribe(
        hub,
        [
          ["topic", topic],
          ["topic", MARKER],
          ["lastEventID", ids[0]!],
          ["last_event_id", ids[0]!],
        ],
        { ...bearer(await legacyToken({})), "Last-Event-ID": ids[1]! },
      ),
    );
    assert.equal(stream.headers["mercure-last-event-id"], ids[1]);
    assert.equal(stream.headers["last-event-id"], ids[1]);
    assert.deepEqual(await replayed(stream), ids.slice(2));
    stream.close();
  });

  it("reads an id outside Latin-1 from lastEventID and from the header's UTF-8 bytes, answering its UTF-8 bytes", async () => {
    const topic = `https://example.com/history/${++topicCount}`;
    const ids = [
      await publisher.send(topic, { id: `日本-${topic}` }),
      await publisher.send(topic, { id: `📚-${topic}` }),
      await publisher.send(topic),
    ];
    // node:http writes header values one byte per character: this is the id's UTF-8, as a browser sends it.
    const utf8Bytes = (id: string) => Buffer.from(id, "utf8").toString("latin1");
    for (const [what, parameters, headers, rest] of [
      ["lastEventID", [["lastEventID", ids[0]!]], {}, ids.slice(1)],
      ["the Last-Event-ID header", [], { "Last-Event-ID": utf8Bytes(ids[1]!) }, ids.slice(2)],
    ] as [string, [string, string][], Record<string, string>, string[]][]) {
      const stream = await opened(
        await subscribe(hub, [["topic", topic], ["topic", MARKER], ...parameters], {
          ...bearer(await legacyToken({})),
          ...headers,
        }),
      );
      const anchor = utf8Bytes(ids[ids.length - rest.length - 1]!);
      assert.equal(stream.headers["mercure-last-event-id"], anchor, what);
      assert.equal(stream.headers["last-event-id"], anchor, what);
      assert.deepEqual(await replayed(stream), rest, what);
      stream.close();
    }
  });

  it("answers a lastEventID that is not UTF-8 as an unknown cursor, earliest", async () => {
    const { topic, ids } = await history();
    const url = `${hubWith(hub, [
      ["topic", topic],
      ["topic", MARKER],
    ])}&lastEventID=%ED%A0%80`;
    const stream = await opened(await openStream(url, { headers: bearer(await legacyToken({})) }));
    assert.equal(stream.headers["mercure-last-event-id"], "earliest");
    assert.equal(stream.headers["last-event-id"], "earliest");
    const replay = await replayed(stream);
    assert.deepEqual(
      replay.filter((id) => ids.includes(id)),
      ids,
    );
    stream.close();
  });

  describe("which requests get the Last-Event-ID response header", () => {
    const cases: [
      string,
      boolean,
      () => Promise<{ parameters: [string, string][]; headers: Record<string, string> }>,
    ][] = [
      [
        "a topic= request",
        true,
        async () => ({
          parameters: [["topic", MARKER]],
          headers: bearer(await hub.token({ subscribe: [] })),
        }),
      ],
      [
        "a request with a legacy token",
        true,
        async () => ({ parameters: [["match", MARKER]], headers: bearer(await legacyToken({})) }),
      ],
      [
        "a request with the token in the authorization query parameter",
        true,
        async () => ({
          parameters: [
            ["match", MARKER],
            ["authorization", await hub.token({ subscribe: [] })],
          ],
          headers: {},
        }),
      ],
      [
        "a request with the token in the mercureAuthorization cookie",
        true,
        async () => ({
          parameters: [["match", MARKER]],
          headers: { Cookie: `${LEGACY_COOKIE}=${await hub.token({ subscribe: [] })}` },
        }),
      ],
      [
        "a draft-08 request (match=, a draft-08 token in the header)",
        false,
        async () => ({
          parameters: [["match", MARKER]],
          headers: bearer(await hub.token({ subscribe: [] })),
        }),
      ],
      [
        "a draft-08 request with the modern cookie",
        false,
        async () => ({
          parameters: [["match", MARKER]],
          headers: { Cookie: `${DEFAULT_COOKIE}=${await hub.token({ subscribe: [] })}` },
        }),
      ],
    ];
    for (const [what, legacy, make] of cases) {
      it(`${legacy ? "sends" : "does not send"} it to ${what}`, async () => {
        const anchor = await publisher.marker();
        const { parameters, headers } = await make();
        const withCursor = await get(hub, [...parameters, ["last_event_id", anchor]], headers);
        assert.equal(withCursor.status, 200, withCursor.body);
        assert.equal(withCursor.headers["mercure-last-event-id"], anchor);
        assert.equal(withCursor.headers["last-event-id"], legacy ? anchor : undefined);
        const withoutCursor = await get(hub, parameters, headers);
        assert.equal(withoutCursor.status, 200, withoutCursor.body);
        assert.equal(withoutCursor.headers["mercure-last-event-id"], undefined);
        assert.equal(withoutCursor.headers["last-event-id"], undefined, "no cursor, no anchor");
      });
    }
  });
});

describe("tokens in URLs stay out of the logs", { timeout: 30_000 }, () => {
  /** Every log call, serialized with everything it carries (errors: message, stack, cause). */
  const lines: string[] = [];
  let hub: TestHub;

  function serialize(value: unknown, seen = new Set<unknown>()): unknown {
    if (value === null || typeof value !== "object") return typeof value === "bigint" ? String(value) : value;
    if (seen.has(value)) return "[circular]";
    seen.add(value);
    if (value instanceof Error) {
      const own: Record<string, unknown> = {};
      for (const key of Object.getOwnPropertyNames(value)) {
        own[key] = serialize((value as unknown as Record<string, unknown>)[key], seen);
      }
      return {
        name: value.name,
        message: value.message,
        stack: value.stack,
        cause: serialize(value.cause, seen),
        ...own,
      };
    }
    if (Array.isArray(value)) return value.map((item) => serialize(item, seen));
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, serialize(item, seen)]));
  }

  const capture =
    (level: string) =>
    (fields: object, message?: string): void => {
      lines.push(JSON.stringify({ level, message, fields: serialize(fields) }));
    };
  const logger: Logger = {
    debug: capture("debug"),
    info: capture("info"),
    warn: capture("warn"),
    error: capture("error"),
  };

  before(async () => {
    const config = resolveServeConfig(
      {
        listen: "127.0.0.1:0",
        issuer: ISSUER,
        "publisher-key": SECRET,
        "log-level": "trace",
        legacy: true,
        subscriptions: true,
        transport: "memory",
      },
      {},
    );
    const running = await startHub(config, logger);
    const address = running.server.address() as { port: number };
    hub = Object.assign(Object.create(null), running, {
      close: running.close,
      origin: `http://127.0.0.1:${address.port}`,
      token: () => Promise.reject(new Error("not used")),
    }) as TestHub;
  });
  after(async () => {
    await hub.close();
  });

  it("never logs a token given in the authorization query parameter, accepted or refused", async () => {
    const responses = watchSubscribeResponses(hub.server);
    const tokens = {
      subscriber: await legacyToken({ subscribe: ["https://example.com/logged"] }),
      publisher: await legacyToken({ publish: ["https://example.com/logged"] }),
      wrongKey: await legacyToken({ publish: ["*"], subscribe: ["*"] }, OTHER_SECRET),
      expired: await signJwt(
        { alg: "HS256" },
        mercure({ publish: ["*"] }, { exp: nowSeconds() - 60 }),
        secret,
      ),
      malformedClaim: await signJwt({ alg: "HS256" }, mercure({ publish: "*", subscribe: [7] }), secret),
      badTemplate: await signJwt(
        { alg: "HS256" },
        mercure({ subscribe: ["https://example.com/{x"] }),
        secret,
      ),
    };
    const body = "topic=https://example.com/logged&data=x";

    // Accepted: a stream (opened, then closed by the client) and a publish.
    const stream = await opened(
      await subscribe(hub, [
        ["topic", "https://example.com/logged"],
        ["authorization", tokens.subscriber],
      ]),
    );
    assert.equal((await post(hub, [["authorization", tokens.publisher]], body)).status, 200);
    assert.equal((await stream.waitForEvents(1)).length, 1);
    stream.close();
    await responses.waitForClosed(1);
    // Refused: 401 for bad tokens, 403 for a token without the grant, 400 for two tokens, and a
    // subscription that fails after authentication (a bad topic selector).
    for (const token of [tokens.wrongKey, tokens.expired, tokens.malformedClaim, tokens.badTemplate]) {
      assert.equal(
        (
          await get(hub, [
            ["topic", "*"],
            ["authorization", token],
          ])
        ).status,
        401,
      );
      assert.equal((await post(hub, [["authorization", token]], body)).status, 401);
    }
    assert.equal((await post(hub, [["authorization", tokens.subscriber]], body)).status, 403);
    const twice = await get(hub, [
      ["topic", "*"],
      ["authorization", tokens.subscriber],
      ["authorization", tokens.publisher],
    ]);
    assert.equal(twice.status, 400);
    const badSelector = await get(hub, [
      ["topic", "https://example.com/{"],
      ["authorization", tokens.subscriber],
    ]);
    assert.equal(badSelector.status, 400);
    const api = await fetch(
      `${hub.origin}/.well-known/mercure/subscriptions?authorization=${tokens.subscriber}`,
    );
    assert.equal(api.status, 403, await api.text());
    responses.stop();

    assert.ok(
      lines.some((line) => line.includes("access token refused")),
      `the logger captured the hub's lines: ${lines.join("\n")}`,
    );
    for (const [name, token] of Object.entries(tokens)) {
      const [, payload, signature] = token.split(".") as [string, string, string];
      // Any 12 characters of a signature (random base64url) are a leak too: a truncated token.
      const pieces = Array.from({ length: signature.length - 11 }, (_, at) => signature.slice(at, at + 12));
      for (const line of lines) {
        assert.ok(!line.includes(token), `the ${name} token is in a log line: ${line}`);
        assert.ok(!line.includes(payload), `the ${name} token's payload is in a log line: ${line}`);
        const leaked = pieces.find((piece) => line.includes(piece));
        assert.equal(leaked, undefined, `part of the ${name} token's signature is in a log line: ${line}`);
      }
    }
  });
});
