import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { after, before, describe, it } from "node:test";
import { formHeaders, rawRequest } from "./helpers/auth.ts";
import { subscribeUrl } from "./helpers/sse-client.ts";
import { startTestHub, type TestHub } from "./helpers/test-hub.ts";

const APP = "https://app.example.com";

/** The comma-separated values of a header, lower-cased. */
function listOf(headers: IncomingHttpHeaders, name: string): string[] {
  const value = headers[name];
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
  return text
    .split(",")
    .map((item) => item.trim().toLowerCase())
    .filter((item) => item !== "");
}

function corsHeaderNames(headers: IncomingHttpHeaders): string[] {
  return Object.keys(headers).filter((name) => name.startsWith("access-control-"));
}

/** The headers every response to an allowed credentialed cross-origin request carries. */
function assertCors(headers: IncomingHttpHeaders, origin: string): void {
  assert.equal(headers["access-control-allow-origin"], origin, "the origin itself, never *");
  assert.equal(headers["access-control-allow-credentials"], "true");
  const exposed = listOf(headers, "access-control-expose-headers");
  for (const name of ["link", "mercure-last-event-id", "www-authenticate"]) {
    assert.ok(exposed.includes(name), `${name} is exposed (${exposed.join(", ")})`);
  }
  assert.ok(listOf(headers, "vary").includes("origin"), "Vary: Origin");
}

function assertNoCors(headers: IncomingHttpHeaders): void {
  assert.deepEqual(corsHeaderNames(headers), [], "no CORS header for an origin off the allowlist");
}

describe("CORS", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let subscriber: string;
  let publisher: string;

  before(async () => {
    hub = await startTestHub({ "cors-origins": `${APP},http://localhost:*` });
    subscriber = await hub.token({ subscribe: ["*"] });
    publisher = await hub.token({ publish: ["*"] });
  });
  after(async () => {
    await hub.close();
  });

  /** `token` null sends none. */
  function subscribeFrom(origin: string | undefined, token: string | null = subscriber) {
    const headers: Record<string, string> = {};
    if (origin !== undefined) headers.Origin = origin;
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    return rawRequest(subscribeUrl(hub.hubUrl, [["match", "*"]]), { headers });
  }

  function publishFrom(origin: string | undefined) {
    const headers = formHeaders(origin === undefined ? {} : { Origin: origin });
    headers.Authorization = `Bearer ${publisher}`;
    return rawRequest(hub.hubUrl, { method: "POST", headers, body: "topic=https://example.com/cors&data=x" });
  }

  it("answers an allowed origin's stream with that origin, credentials and the exposed headers", async () => {
    const result = await subscribeFrom(APP);
    assert.equal(result.status, 200);
    assert.match(String(result.headers["content-type"]), /^text\/event-stream/);
    assertCors(result.headers, APP);
  });

  it("exposes Mercure-Last-Event-ID, with Link, on a stream that answers a cursor", async () => {
    const published = await publishFrom(undefined);
    assert.equal(published.status, 200, published.body);
    for (const cursor of [published.body, "urn:uuid:never-published"]) {
      const result = await rawRequest(
        subscribeUrl(hub.hubUrl, [
          ["match", "*"],
          ["last_event_id", cursor],
        ]),
        { headers: { Origin: APP, Authorization: `Bearer ${subscriber}` } },
      );
      assert.equal(result.status, 200);
      assert.equal(result.headers["mercure-last-event-id"], cursor === published.body ? cursor : "earliest");
      const exposed = listOf(result.headers, "access-control-expose-headers");
      assert.ok(exposed.includes("mercure-last-event-id"), exposed.join(", "));
      assert.ok(exposed.includes("link"), exposed.join(", "));
    }
  });

  it("answers an allowed origin's publish with CORS headers", async () => {
    const result = await publishFrom(APP);
    assert.equal(result.status, 200, result.body);
    assertCors(result.headers, APP);
  });

  it("lets an allowed origin read a 401 and its challenge", async () => {
    const result = await subscribeFrom(APP, null);
    assert.equal(result.status, 401);
    assertCors(result.headers, APP);
    assert.ok(result.headers["www-authenticate"]);
  });

  it("lets an allowed origin read a 400 problem", async () => {
    const result = await rawRequest(subscribeUrl(hub.hubUrl, [["matchfoo", "x"]]), {
      headers: { Origin: APP, Authorization: `Bearer ${subscriber}` },
    });
    assert.equal(result.status, 400);
    assertCors(result.headers, APP);
  });

  const refused = [
    "https://evil.example",
    "https://app.example.com.evil.example",
    "https://evil.example.app.example.com",
    "http://app.example.com",
    "https://app.example.com:8443",
    "https://app.example.com/",
    "null",
    "*",
    "https://localhost:5173",
    "http://localhost.evil.example:5173",
    "http://sub.localhost:5173",
    "http://127.0.0.1:5173",
  ];
  for (const origin of refused) {
    it(`sends no CORS headers to ${origin}`, async () => {
      const stream = await subscribeFrom(origin);
      assert.equal(stream.status, 200, "the request itself is served; the browser withholds it");
      assertNoCors(stream.headers);
      const published = await publishFrom(origin);
      assert.equal(published.status, 200);
      assertNoCors(published.headers);
      const error = await subscribeFrom(origin, null);
      assert.equal(error.status, 401);
      assertNoCors(error.headers);
    });
  }

  for (const origin of ["http://localhost:5173", "http://localhost:1", "http://localhost"]) {
    it(`allows ${origin} through the http://localhost:* entry`, async () => {
      const result = await subscribeFrom(origin);
      assertCors(result.headers, origin);
    });
  }

  it("sends no CORS headers when the request has no Origin", async () => {
    const result = await subscribeFrom(undefined);
    assertNoCors(result.headers);
  });

  describe("preflight", () => {
    function preflight(origin: string, method: string, headers: string) {
      return rawRequest(hub.hubUrl, {
        method: "OPTIONS",
        headers: {
          Origin: origin,
          "Access-Control-Request-Method": method,
          "Access-Control-Request-Headers": headers,
        },
      });
    }

    it("allows a POST with Authorization and Content-Type from an allowed origin", async () => {
      const result = await preflight(APP, "POST", "authorization,content-type");
      assert.ok(result.status === 200 || result.status === 204, String(result.status));
      assert.equal(result.headers["access-control-allow-origin"], APP);
      assert.equal(result.headers["access-control-allow-credentials"], "true");
      assert.ok(listOf(result.headers, "access-control-allow-methods").includes("post"));
      const allowed = listOf(result.headers, "access-control-allow-headers");
      assert.ok(allowed.includes("authorization"), allowed.join(", "));
      assert.ok(allowed.includes("content-type"), allowed.join(", "));
      assert.ok(listOf(result.headers, "vary").includes("origin"));
    });

    it("allows a GET with Authorization and Last-Event-ID (fetch-based subscribers)", async () => {
      const result = await preflight("http://localhost:5173", "GET", "authorization,last-event-id");
      assert.equal(result.headers["access-control-allow-origin"], "http://localhost:5173");
      assert.ok(listOf(result.headers, "access-control-allow-methods").includes("get"));
      const allowed = listOf(result.headers, "access-control-allow-headers");
      assert.ok(allowed.includes("authorization") && allowed.includes("last-event-id"), allowed.join(", "));
    });

    it("grants nothing to an origin off the allowlist", async () => {
      const result = await preflight("https://evil.example", "POST", "authorization,content-type");
      assertNoCors(result.headers);
    });
  });

  it("serves the protected resource metadata to any origin, without credentials", async () => {
    const result = await rawRequest(
      `${hub.origin}/.well-known/oauth-protected-resource/.well-known/mercure`,
      {
        headers: { Origin: "https://evil.example" },
      },
    );
    assert.equal(result.status, 200);
    assert.equal(result.headers["access-control-allow-origin"], "*");
    assert.equal(result.headers["access-control-allow-credentials"], undefined);
  });
});

describe("CORS with * in the allowlist (the old hub's tutorials)", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let subscriber: string;

  before(async () => {
    hub = await startTestHub({ "cors-origins": `${APP},*`, anonymous: true });
    subscriber = await hub.token({ subscribe: ["*"] });
  });
  after(async () => {
    await hub.close();
  });

  function subscribeFrom(origin: string | undefined, token: string | null) {
    const headers: Record<string, string> = {};
    if (origin !== undefined) headers.Origin = origin;
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    return rawRequest(subscribeUrl(hub.hubUrl, [["match", "*"]]), { headers });
  }

  /** `*`, the exposed headers, and never credentials: browsers then send no cookie. */
  function assertAnyOrigin(headers: IncomingHttpHeaders): void {
    assert.equal(headers["access-control-allow-origin"], "*");
    assert.equal(headers["access-control-allow-credentials"], undefined, "never credentials with *");
    const exposed = listOf(headers, "access-control-expose-headers");
    for (const name of ["link", "mercure-last-event-id", "www-authenticate"]) {
      assert.ok(exposed.includes(name), `${name} is exposed (${exposed.join(", ")})`);
    }
    assert.ok(
      listOf(headers, "vary").includes("origin"),
      "Vary: Origin, as listed origins get another answer",
    );
  }

  for (const origin of ["https://anywhere.example", "http://localhost:5173", "null"]) {
    it(`answers ${origin} with * and no credentials: an anonymous stream`, async () => {
      const result = await subscribeFrom(origin, null);
      assert.equal(result.status, 200);
      assert.match(String(result.headers["content-type"]), /^text\/event-stream/);
      assertAnyOrigin(result.headers);
    });
  }

  it("answers * to a bearer-token stream and to an error from another origin", async () => {
    const stream = await subscribeFrom("https://anywhere.example", subscriber);
    assert.equal(stream.status, 200);
    assertAnyOrigin(stream.headers);
    const error = await rawRequest(subscribeUrl(hub.hubUrl, [["matchfoo", "x"]]), {
      headers: { Origin: "https://anywhere.example" },
    });
    assert.equal(error.status, 400);
    assertAnyOrigin(error.headers);
  });

  it("still answers a listed origin with that origin and credentials", async () => {
    const result = await subscribeFrom(APP, subscriber);
    assert.equal(result.status, 200);
    assertCors(result.headers, APP);
  });

  it("sends no CORS headers when the request has no Origin", async () => {
    assertNoCors((await subscribeFrom(undefined, null)).headers);
  });

  it("answers another origin's preflight with *, the methods and the headers, without credentials", async () => {
    const result = await rawRequest(hub.hubUrl, {
      method: "OPTIONS",
      headers: {
        Origin: "https://anywhere.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
      },
    });
    assert.ok(result.status === 200 || result.status === 204, String(result.status));
    assertAnyOrigin(result.headers);
    assert.ok(listOf(result.headers, "access-control-allow-methods").includes("post"));
    const allowed = listOf(result.headers, "access-control-allow-headers");
    assert.ok(allowed.includes("authorization") && allowed.includes("content-type"), allowed.join(", "));
  });

  it("refuses a cookie-authenticated publish from an origin that * lets read (CSRF)", async () => {
    const publisher = await hub.token({ publish: ["*"] });
    const result = await rawRequest(hub.hubUrl, {
      method: "POST",
      headers: formHeaders({
        Origin: "https://anywhere.example",
        Cookie: `__Secure-mercure_access_token=${publisher}`,
      }),
      body: "topic=https://example.com/cors&data=x",
    });
    assert.equal(result.status, 403, result.body);
  });
});

describe("CORS configuration", () => {
  const invalid: [string, Record<string, string>, RegExp][] = [
    ["* in publish-origins", { "publish-origins": "*" }, /--publish-origins.*cross-site request forgery/],
    ["* among other publish-origins", { "publish-origins": `${APP},*` }, /--publish-origins/],
    ["a wildcard subdomain in cors-origins", { "cors-origins": "https://*.example.com" }, /--cors-origins/],
    [
      "a wildcard subdomain in publish-origins",
      { "publish-origins": "https://*.example.com" },
      /--publish-origins/,
    ],
    ["an entry that is not a URL", { "cors-origins": "app.example.com" }, /--cors-origins/],
  ];
  for (const [what, flags, message] of invalid) {
    it(`refuses to start with ${what}`, async () => {
      // A hub that wrongly starts is closed at once, so that the failure does not hang the run.
      const started = startTestHub(flags).then((hub) => hub.close());
      await assert.rejects(started, (error: Error) => {
        assert.equal(error.name, "UsageError");
        assert.match(error.message, message);
        return true;
      });
    });
  }
});
