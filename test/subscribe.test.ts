import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

interface Answer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** Sends a request whose target is written as given (not re-encoded), and reads the whole answer. */
function rawRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers: init.headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, contentType: res.headers["content-type"], body }),
      );
      // A stream (a request that was accepted) never ends by itself: the first bytes are enough.
      if ((res.headers["content-type"] ?? "").startsWith("text/event-stream")) {
        resolve({ status: res.statusCode ?? 0, contentType: res.headers["content-type"], body: "" });
        req.destroy();
      }
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

describe("subscribe", () => {
  let hub: TestHub;
  let token: string;
  /** A hub with small limits: at most 3 matchers of at most 40 characters. */
  let limited: TestHub;
  let limitedToken: string;
  /** Every stream opened by a test, closed after it. */
  const open: Stream[] = [];

  before(async () => {
    hub = await startTestHub({ anonymous: true });
    token = await hub.token({ publish: ["*"] });
    limited = await startTestHub({ anonymous: true, "max-matchers": "3", "max-pattern-length": "40" });
    limitedToken = await limited.token({ publish: ["*"] });
  });
  after(async () => {
    for (const stream of open) stream.close();
    await hub.close();
    await limited.close();
  });

  async function subscribe(parameters: [string, string][], on: TestHub = hub) {
    const stream = await openStream(subscribeUrl(on.hubUrl, parameters));
    open.push(stream);
    assert.equal(stream.status, 200, await (stream.status === 200 ? "" : stream.body));
    return stream;
  }

  /** Publishes a public update and returns its id. */
  async function send(topics: string | string[], on: TestHub = hub): Promise<string> {
    const fields: [string, string][] = (Array.isArray(topics) ? topics : [topics]).map((t) => ["topic", t]);
    fields.push(["data", "x"]);
    const result = await publish(on, fields, { token: on === hub ? token : limitedToken });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  /**
   * Whether a subscriber with `parameters` receives an update on `topic`: it also subscribes to a
   * marker topic, published right after; the first event it gets is the update or the marker.
   */
  let markers = 0;
  async function receives(parameters: [string, string][], topic: string): Promise<boolean> {
    const marker = `urn:marker:${++markers}`;
    const stream = await subscribe([...parameters, ["match", marker]]);
    const updateId = await send(topic);
    const markerId = await send(marker);
    const [first] = await stream.waitForEvents(1);
    if (first!.id === markerId) {
      stream.close();
      return false;
    }
    assert.equal(first!.id, updateId, "the first event is the update or the marker");
    assert.equal((await stream.waitForEvents(2))[1]!.id, markerId, "the update came once");
    stream.close();
    return true;
  }

  async function refused(parameters: [string, string][], on: TestHub = hub) {
    const response = await fetch(subscribeUrl(on.hubUrl, parameters));
    const text = await response.text();
    assert.equal(response.headers.get("content-type"), "application/problem+json", text);
    const problem = JSON.parse(text) as { code: string; status: number; detail: string };
    assert.equal(problem.status, response.status);
    return { status: response.status, problem, headers: response.headers };
  }

  describe("exact matching (match and match_exact)", () => {
    const cases: [string, string, string, boolean][] = [
      ["the same string", "https://example.com/books/1", "https://example.com/books/1", true],
      ["a different path case", "https://example.com/books/1", "https://example.com/Books/1", false],
      ["a different host case", "https://example.com/books/1", "https://EXAMPLE.com/books/1", false],
      ["a trailing slash", "https://example.com/books/1", "https://example.com/books/1/", false],
      ["a percent-encoded topic", "https://example.com/books/1", "https://example.com/books/%31", false],
      ["a percent-encoded matcher", "https://example.com/books/%31", "https://example.com/books/1", false],
      ["a default port written out", "https://example.com/books/1", "https://example.com:443/books/1", false],
      ["another Unicode normalization", "urn:x:caf\u00e9", "urn:x:cafe\u0301", false],
      ["a relative matcher and the same relative topic", "/books/1", "/books/1", true],
      ["a non-URL string", "not a URL at all", "not a URL at all", true],
    ];
    for (const parameter of ["match", "match_exact"]) {
      for (const [what, matcher, topic, expected] of cases) {
        it(`${parameter}: ${what} ${expected ? "matches" : "does not match"}`, async () => {
          assert.equal(await receives([[parameter, matcher]], topic), expected);
        });
      }
      it(`${parameter}: a relative matcher is not resolved against the hub URL`, async () => {
        assert.equal(await receives([[parameter, "/books/1"]], `${hub.origin}/books/1`), false);
        assert.equal(await receives([[parameter, `${hub.origin}/books/1`]], "/books/1"), false);
      });
    }
  });

  describe("URL Pattern matching (match_urlpattern)", () => {
    const absolute: [string, string, boolean][] = [
      ["https://example.com/books/1", "the same URL", true],
      ["https://example.com/books/1?page=2#top", "any search and hash", true],
      ["https://Example.COM/books/1", "another host case (hosts are case-insensitive)", true],
      ["https://example.com:443/books/1", "the default port written out", true],
      ["https://example.com/Books/1", "another path case", false],
      ["https://example.com/books/", "an empty :id", false],
      ["https://example.com/books/1/reviews", "a deeper path", false],
      ["http://example.com/books/1", "another scheme", false],
      ["https://example.org/books/1", "another host", false],
      ["/books/1", "a relative topic (it resolves on the hub's origin)", false],
      ["urn:isbn:1", "a topic that is not an http URL", false],
      ["http://[::1", "a topic that does not parse as a URL", false],
    ];
    for (const [topic, what, expected] of absolute) {
      it(`an absolute pattern ${expected ? "matches" : "does not match"} ${what}`, async () => {
        assert.equal(
          await receives([["match_urlpattern", "https://example.com/books/:id"]], topic),
          expected,
        );
      });
    }

    it("a relative pattern matches a relative topic", async () => {
      assert.equal(await receives([["match_urlpattern", "/books/:id"]], "/books/1"), true);
    });
    it("a relative pattern matches an absolute topic on the hub's origin", async () => {
      assert.equal(await receives([["match_urlpattern", "/books/:id"]], `${hub.origin}/books/1`), true);
    });
    it("a relative pattern does not match the same path on another origin", async () => {
      assert.equal(
        await receives([["match_urlpattern", "/books/:id"]], "https://example.com/books/1"),
        false,
      );
      const port = new URL(hub.origin).port;
      assert.equal(
        await receives([["match_urlpattern", "/books/:id"]], `http://localhost:${port}/books/1`),
        false,
      );
    });
    it("an absolute pattern on the hub's origin matches a relative topic", async () => {
      assert.equal(await receives([["match_urlpattern", `${hub.origin}/books/:id`]], "/books/1"), true);
    });
    it("relative patterns and topics resolve against the hub URL, not only its origin", async () => {
      // The hub URL is {origin}/.well-known/mercure: "books/1" resolves to /.well-known/books/1.
      assert.equal(await receives([["match_urlpattern", "/.well-known/books/:id"]], "books/1"), true);
      assert.equal(await receives([["match_urlpattern", "/books/:id"]], "books/1"), false);
      assert.equal(
        await receives([["match_urlpattern", "books/:id"]], `${hub.origin}/.well-known/books/1`),
        true,
      );
    });
  });

  describe("the wildcard *", () => {
    const topics = ["https://example.com/a", "urn:isbn:1", "relative/x", "http://[::1", "not a URL"];
    for (const parameter of ["match", "match_exact", "match_urlpattern"]) {
      it(`${parameter}=* receives every topic, URL or not`, async () => {
        const stream = await subscribe([[parameter, "*"]]);
        const ids: string[] = [];
        for (const topic of topics) ids.push(await send(topic));
        assert.deepEqual(
          (await stream.waitForEvents(topics.length)).map((event) => event.id),
          ids,
        );
      });
    }
  });

  describe("parameters", () => {
    const unknown = [
      "Match",
      "MATCH",
      "mAtch",
      "matchfoo",
      "match_",
      "match_regex",
      "match_URLPattern",
      "match_urlPattern",
      "match_Exact",
      "MATCH_EXACT",
      "match_uri_template",
    ];
    for (const name of unknown) {
      it(`refuses ${name}= with 400 matcher_unknown_type, even beside a valid matcher`, async () => {
        for (const parameters of [
          [[name, "https://example.com/a"]],
          [
            ["match", "https://example.com/a"],
            [name, "x"],
          ],
        ] as [string, string][][]) {
          const { status, problem } = await refused(parameters);
          assert.equal(status, 400);
          assert.equal(problem.code, "matcher_unknown_type");
        }
      });
    }

    it("ignores parameters outside the match namespace", async () => {
      const stream = await subscribe([
        ["foo", "bar"],
        ["_match", "x"],
        ["xmatch", "x"],
        ["matc", "x"],
        ["match", "https://example.com/ignored-params"],
        ["mercure", "1"],
      ]);
      const id = await send("https://example.com/ignored-params");
      assert.equal((await stream.waitForEvents(1))[0]!.id, id);
    });

    it("refuses a request without any matcher with 400 matcher_missing", async () => {
      for (const parameters of [[], [["foo", "bar"]], [["last_event_id", "earliest"]]] as [
        string,
        string,
      ][][]) {
        const { status, problem } = await refused(parameters);
        assert.equal(status, 400);
        assert.equal(problem.code, "matcher_missing");
      }
    });

    it("refuses topic= with 400 legacy_topic_parameter, naming match and --legacy", async () => {
      for (const parameters of [
        [["topic", "https://example.com/a"]],
        [
          ["match", "https://example.com/a"],
          ["topic", "https://example.com/a"],
        ],
      ] as [string, string][][]) {
        const { status, problem } = await refused(parameters);
        assert.equal(status, 400);
        assert.equal(problem.code, "legacy_topic_parameter");
        assert.match(problem.detail, /\bmatch\b/);
        assert.match(problem.detail, /--legacy\b/);
      }
    });

    it("accepts as many matchers as max-matchers, and refuses one more with 400 too_many_matchers", async () => {
      await subscribe(
        [
          ["match", "https://example.com/1"],
          ["match_exact", "https://example.com/2"],
          ["match_urlpattern", "https://example.com/3/*"],
        ],
        limited,
      );
      const { status, problem } = await refused(
        [
          ["match", "https://example.com/1"],
          ["match_exact", "https://example.com/2"],
          ["match_urlpattern", "https://example.com/3/*"],
          ["match_urlpattern", "https://example.com/4/*"],
        ],
        limited,
      );
      assert.equal(status, 400);
      assert.equal(problem.code, "too_many_matchers");
    });

    it("collapses identical matchers before counting them against max-matchers", async () => {
      // match and match_exact are the same matcher type: (exact, a) three times is one matcher.
      const stream = await subscribe(
        [
          ["match", "https://example.com/dup/a"],
          ["match_exact", "https://example.com/dup/a"],
          ["match", "https://example.com/dup/a"],
          ["match", "https://example.com/dup/b"],
          ["match_urlpattern", "https://example.com/dup/*"],
          ["match_urlpattern", "https://example.com/dup/*"],
        ],
        limited,
      );
      const a = await send("https://example.com/dup/a", limited);
      const b = await send("https://example.com/dup/b", limited);
      const c = await send("https://example.com/dup/c", limited);
      assert.deepEqual(
        (await stream.waitForEvents(3)).map((event) => event.id),
        [a, b, c],
      );
      const marker = await send("https://example.com/dup/marker", limited);
      assert.equal((await stream.waitForEvents(4))[3]!.id, marker, "each update arrived once");
    });

    it("accepts a matcher of max-pattern-length characters and refuses a longer one with 400 matcher_too_long", async () => {
      const fits = `https://example.com/${"a".repeat(40 - 20)}`;
      assert.equal(fits.length, 40);
      for (const parameter of ["match", "match_urlpattern"]) {
        await subscribe([[parameter, fits]], limited);
        const { status, problem } = await refused([[parameter, `${fits}b`]], limited);
        assert.equal(status, 400);
        assert.equal(problem.code, "matcher_too_long");
      }
    });

    const forbidden: [string, string][] = [
      ["NUL", "\u0000"],
      ["a C0 control", "\u0001"],
      ["TAB", "\t"],
      ["LF", "\n"],
      ["CR", "\r"],
      ["US", "\u001f"],
      ["DEL", "\u007f"],
      ["a C1 control", "\u0080"],
      ["NEL", "\u0085"],
      ["APC", "\u009f"],
      ["a soft hyphen (Cf)", "\u00ad"],
      ["a zero-width space (Cf)", "\u200b"],
      ["a left-to-right mark (Cf)", "\u200e"],
      ["a bidi override (Cf)", "\u202e"],
      ["a bidi isolate (Cf)", "\u2066"],
      ["a byte order mark (Cf)", "\ufeff"],
      ["a language tag (Cf, astral)", "\u{e0001}"],
    ];
    for (const [what, character] of forbidden) {
      it(`refuses a matcher holding ${what} with 400 matcher_characters`, async () => {
        for (const parameter of ["match", "match_exact", "match_urlpattern"]) {
          const { status, problem } = await refused([[parameter, `https://example.com/a${character}b`]]);
          assert.equal(status, 400, `${parameter}`);
          assert.equal(problem.code, "matcher_characters");
        }
      });
    }

    it("accepts other non-ASCII characters in a matcher", async () => {
      const topic = "https://example.com/caf\u00e9/\u{1F600}";
      const stream = await subscribe([["match", topic]]);
      const id = await send(topic);
      assert.equal((await stream.waitForEvents(1))[0]!.id, id);
    });

    it("refuses a matcher that is not valid UTF-8 with 400", async () => {
      // Written by hand: URLSearchParams would turn the bytes into U+FFFD before sending.
      for (const query of [
        "match=%FF",
        "match=https%3A%2F%2Fexample.com%2F%C3",
        "match_urlpattern=%2F%ED%A0%80",
      ]) {
        const answer = await rawRequest(`${hub.hubUrl}?${query}`);
        assert.equal(answer.status, 400, query);
        assert.equal(answer.contentType, "application/problem+json");
        assert.equal(JSON.parse(answer.body).code, "matcher_characters", query);
      }
    });

    for (const pattern of ["/books/:id(", "/(a", "https://ex ample.com/", "/books/{", "/((a))", "/:"]) {
      it(`refuses the malformed URL Pattern ${JSON.stringify(pattern)} with 400 urlpattern_syntax`, async () => {
        const { status, problem } = await refused([["match_urlpattern", pattern]]);
        assert.equal(status, 400);
        assert.equal(problem.code, "urlpattern_syntax");
      });
    }

    for (const pattern of ["/(a)(\\1)", "https://example.com/(\\w+)-(\\1)", "/((?=a).)"]) {
      it(`refuses the URL Pattern ${JSON.stringify(pattern)} with 400 urlpattern_unsupported`, async () => {
        const { status, problem } = await refused([["match_urlpattern", pattern]]);
        assert.equal(status, 400);
        assert.equal(problem.code, "urlpattern_unsupported");
      });
    }

    it("does not treat a URL Pattern as a matcher of another type, nor the reverse", async () => {
      // The same string is a pattern under match_urlpattern and a plain string under match.
      assert.equal(
        await receives([["match", "https://example.com/books/:id"]], "https://example.com/books/1"),
        false,
      );
      assert.equal(
        await receives([["match", "https://example.com/books/:id"]], "https://example.com/books/:id"),
        true,
      );
    });
  });

  describe("the stream", () => {
    it("answers with event-stream headers and starts at once with a comment", async () => {
      const stream = await subscribe([["match", "https://example.com/headers"]]);
      assert.match(String(stream.headers["content-type"]), /^text\/event-stream\b/);
      assert.match(String(stream.headers["cache-control"]), /\bno-cache\b/);
      assert.equal(stream.headers["x-accel-buffering"], "no");
      assert.equal(stream.headers["mercure-last-event-id"], undefined, "no cursor, no Mercure-Last-Event-ID");
      // Nothing was published: the comment is how the stream starts, not a heartbeat.
      await stream.waitForComments(1);
      assert.deepEqual(stream.sequence, ["comment"]);
      const id = await send("https://example.com/headers");
      assert.equal((await stream.waitForEvents(1))[0]!.id, id);
      assert.deepEqual(stream.sequence, ["comment", "event"]);
    });

    it("sends the comment before replayed events", async () => {
      const topic = `https://example.com/replay-order/${Math.random()}`;
      const first = await send(topic);
      const second = await send(topic);
      const stream = await subscribe([
        ["match", topic],
        ["last_event_id", "earliest"],
      ]);
      assert.deepEqual(
        (await stream.waitForEvents(2)).map((event) => event.id),
        [first, second],
      );
      assert.deepEqual(stream.sequence, ["comment", "event", "event"]);
    });

    it("carries id, event, retry and data for each update", async () => {
      const stream = await subscribe([["match", "https://example.com/fields"]]);
      const result = await publish(
        hub,
        { topic: "https://example.com/fields", id: "fields-1", type: "changed", retry: "1500", data: "a\nb" },
        { token },
      );
      assert.equal(result.status, 200);
      const [event] = await stream.waitForEvents(1);
      assert.deepEqual(event, { id: "fields-1", type: "changed", retry: 1500, data: "a\nb" });
    });

    it("delivers an update once even when several matchers and topics of it match", async () => {
      const stream = await subscribe([
        ["match", "https://example.com/once/a"],
        ["match_urlpattern", "https://example.com/once/*"],
        ["match_urlpattern", "*"],
      ]);
      const both = await send(["https://example.com/once/a", "https://example.com/once/b"]);
      const marker = await send("https://example.com/once/marker");
      assert.deepEqual(
        (await stream.waitForEvents(2)).map((event) => event.id),
        [both, marker],
      );
    });

    it("sends each subscriber only what its matchers select", async () => {
      const books = await subscribe([["match_urlpattern", "https://example.com/select/books/:id"]]);
      const authors = await subscribe([["match", "https://example.com/select/authors/1"]]);
      const all = await subscribe([["match_urlpattern", "https://example.com/select/*"]]);
      const sent: [string, string][] = [];
      for (const topic of [
        "https://example.com/select/books/1",
        "https://example.com/select/authors/1",
        "https://example.com/select/authors/2",
        "https://example.com/select/books/2",
        "https://example.com/select/other",
      ]) {
        sent.push([topic, await send(topic)]);
      }
      const idsFor = (keep: (topic: string) => boolean) =>
        sent.filter(([topic]) => keep(topic)).map(([, id]) => id);
      const expectations: [Stream, string[]][] = [
        [books, idsFor((t) => t.includes("/books/"))],
        [authors, idsFor((t) => t.endsWith("/authors/1"))],
        [all, idsFor(() => true)],
      ];
      // A last update every one of them selects: received next, it proves nothing else came before.
      const marker = await send([
        "https://example.com/select/books/marker",
        "https://example.com/select/authors/1",
      ]);
      for (const [stream, ids] of expectations) {
        assert.deepEqual(
          (await stream.waitForEvents(ids.length + 1)).map((event) => event.id),
          [...ids, marker],
        );
      }
    });
  });

  describe("the Accept header", () => {
    const url = () => subscribeUrl(hub.hubUrl, [["match", "https://example.com/accept"]]);
    const acceptable = [
      undefined,
      "text/event-stream",
      "*/*",
      "text/*",
      "application/json, text/event-stream",
      "application/json;q=1, */*;q=0.1",
      "Text/Event-Stream; charset=utf-8",
    ];
    for (const accept of acceptable) {
      it(`opens a stream for Accept: ${accept ?? "(none)"}`, async () => {
        const answer = await rawRequest(url(), accept === undefined ? {} : { headers: { Accept: accept } });
        assert.equal(answer.status, 200, answer.body);
        assert.equal(answer.contentType, "text/event-stream");
      });
    }

    const excluding = [
      "application/json",
      "text/html, application/xhtml+xml",
      "text/event-stream;q=0",
      "*/*, text/event-stream;q=0",
      "text/*;q=0",
    ];
    for (const accept of excluding) {
      it(`refuses with 406 not_acceptable Accept: ${accept}`, async () => {
        const answer = await rawRequest(url(), { headers: { Accept: accept } });
        assert.equal(answer.status, 406, answer.body);
        assert.equal(answer.contentType, "application/problem+json");
        assert.equal(JSON.parse(answer.body).code, "not_acceptable");
      });
    }

    it("refuses a QUERY subscription whose Accept excludes text/event-stream too", async () => {
      const answer = await rawRequest(hub.hubUrl, {
        method: "QUERY",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: "match=https%3A%2F%2Fexample.com%2Faccept",
      });
      assert.equal(answer.status, 406, answer.body);
      assert.equal(JSON.parse(answer.body).code, "not_acceptable");
    });
  });

  describe("the QUERY method", () => {
    function query(
      parameters: [string, string][],
      body: [string, string][],
      headers: Record<string, string> = {},
    ) {
      return openStream(subscribeUrl(hub.hubUrl, parameters), {
        method: "QUERY",
        headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams(body).toString(),
      }).then((stream) => {
        open.push(stream);
        return stream;
      });
    }

    it("takes matchers from the body, and the union of the query's and the body's", async () => {
      const stream = await query(
        [["match", "https://example.com/q/query"]],
        [["match", "https://example.com/q/body"]],
      );
      assert.equal(stream.status, 200);
      const inQuery = await send("https://example.com/q/query");
      const elsewhere = await send("https://example.com/q/elsewhere");
      const inBody = await send("https://example.com/q/body");
      assert.ok(elsewhere);
      const onlyBody = await query([], [["match_urlpattern", "https://example.com/q/:x"]]);
      assert.equal(onlyBody.status, 200);
      const after = await send("https://example.com/q/after");
      assert.deepEqual(
        (await stream.waitForEvents(2)).map((event) => event.id),
        [inQuery, inBody],
      );
      assert.deepEqual(
        (await onlyBody.waitForEvents(1)).map((event) => event.id),
        [after],
      );
    });

    it("refuses a body without a Content-Type with 400 content_type_missing", async () => {
      const url = subscribeUrl(hub.hubUrl, [["match", "https://example.com/q/untyped"]]);
      const sized = await rawRequest(url, { method: "QUERY", body: "match=https%3A%2F%2Fexample.com%2Fq" });
      assert.equal(sized.status, 400, sized.body);
      assert.equal(JSON.parse(sized.body).code, "content_type_missing");
      const chunked = await rawRequest(url, {
        method: "QUERY",
        headers: { "Transfer-Encoding": "chunked" },
        body: "match=https%3A%2F%2Fexample.com%2Fq",
      });
      assert.equal(chunked.status, 400, chunked.body);
      assert.equal(JSON.parse(chunked.body).code, "content_type_missing");
    });

    it("takes a QUERY without a body and without a Content-Type", async () => {
      const url = subscribeUrl(hub.hubUrl, [["match", "https://example.com/q/bodiless"]]);
      assert.equal((await rawRequest(url, { method: "QUERY" })).status, 200);
      const empty = await rawRequest(url, { method: "QUERY", headers: { "Content-Length": "0" } });
      assert.equal(empty.status, 200, empty.body);
    });

    it("refuses a body that is not a form with 415", async () => {
      const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/q/json"]]), {
        method: "QUERY",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ match: "https://example.com/q/json" }),
      });
      assert.equal(stream.status, 415);
      assert.equal(JSON.parse(await stream.body).code, "unsupported_media_type");
      for (const contentType of [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencodedx",
      ]) {
        const answer = await rawRequest(hub.hubUrl, {
          method: "QUERY",
          headers: { "Content-Type": contentType },
          body: "match=https%3A%2F%2Fexample.com%2Fq",
        });
        assert.equal(answer.status, 415, contentType);
        assert.equal(JSON.parse(answer.body).code, "unsupported_media_type");
      }
    });

    it("uses the query's last_event_id over the body's, and the body's when alone", async () => {
      const topic = `https://example.com/q/cursor/${Math.random()}`;
      const ids = [await send(topic), await send(topic), await send(topic)];
      const both = await query(
        [["last_event_id", ids[0]!]],
        [
          ["match", topic],
          ["last_event_id", ids[1]!],
        ],
      );
      assert.equal(both.headers["mercure-last-event-id"], ids[0]);
      assert.deepEqual(
        (await both.waitForEvents(2)).map((event) => event.id),
        ids.slice(1),
      );
      const bodyOnly = await query(
        [],
        [
          ["match", topic],
          ["last_event_id", ids[1]!],
        ],
      );
      assert.equal(bodyOnly.headers["mercure-last-event-id"], ids[1]);
      const header = await query(
        [["last_event_id", ids[0]!]],
        [
          ["match", topic],
          ["last_event_id", ids[0]!],
        ],
        { "Last-Event-ID": ids[1]! },
      );
      assert.equal(
        header.headers["mercure-last-event-id"],
        ids[1],
        "the Last-Event-ID header wins over both",
      );
      const marker = await send(topic);
      assert.deepEqual(
        (await bodyOnly.waitForEvents(2)).map((event) => event.id),
        [ids[2], marker],
      );
      assert.deepEqual(
        (await header.waitForEvents(2)).map((event) => event.id),
        [ids[2], marker],
      );
    });

    it("applies the same rules to the body's parameters", async () => {
      const cases: [[string, string][], string][] = [
        [[["Match", "x"]], "matcher_unknown_type"],
        [[["topic", "x"]], "legacy_topic_parameter"],
        [[["match", "a\u200bb"]], "matcher_characters"],
        [[["match_urlpattern", "/(a"]], "urlpattern_syntax"],
        [
          [
            ["match", "1"],
            ["match", "2"],
            ["match", "3"],
            ["match", "4"],
          ],
          "too_many_matchers",
        ],
      ];
      for (const [body, code] of cases) {
        const answer = await rawRequest(limited.hubUrl, {
          method: "QUERY",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams(body).toString(),
        });
        assert.equal(answer.status, 400, code);
        assert.equal(answer.contentType, "application/problem+json");
        assert.equal(JSON.parse(answer.body).code, code);
      }
      // Three in the query and one in the body are four.
      const answer = await rawRequest(
        subscribeUrl(limited.hubUrl, [
          ["match", "1"],
          ["match", "2"],
          ["match", "3"],
        ]),
        {
          method: "QUERY",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: "match=4",
        },
      );
      assert.equal(answer.status, 400);
      assert.equal(JSON.parse(answer.body).code, "too_many_matchers");
    });
  });
});
