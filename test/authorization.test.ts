import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as jose from "jose";
import { mintToken } from "../src/auth/mint.ts";
import {
  accessClaims,
  detail,
  formHeaders,
  hs256Jwt,
  parseChallenge,
  type RawResponse,
  rawRequest,
  signJwt,
  unsignedJwt,
} from "./helpers/auth.ts";
import { nonCanonicalSpellings } from "./helpers/base64url-spelling.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { ISSUER, publish, SECRET, startTestHub, type TestHub } from "./helpers/test-hub.ts";

const OTHER_ISSUER = "https://other.test";
const OTHER_SECRET = "another-secret-that-is-long-enough-for-hs256";
const RSA_ISSUER = "https://rsa.test";
const DEFAULT_COOKIE = "__Secure-mercure_access_token";
const secret = new TextEncoder().encode(SECRET);

/** A temporary directory removed after the file's tests. */
let tempDir: string;
before(async () => {
  tempDir = await mkdtemp(join(tmpdir(), "quicksilver-auth-"));
});
after(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

async function writeConfig(name: string, config: unknown): Promise<string> {
  const path = join(tempDir, name);
  await writeFile(path, JSON.stringify(config));
  return path;
}

function metadataUrlOf(hub: TestHub): string {
  return `${hub.origin}/.well-known/oauth-protected-resource/.well-known/mercure`;
}

/** Asserts a Bearer challenge carrying the hub's resource_metadata and exactly `error` (or none). */
function assertChallenge(hub: TestHub, header: string | string[] | null | undefined, error?: string): void {
  assert.equal(typeof header, "string", "one WWW-Authenticate header");
  const challenge = parseChallenge(header as string);
  assert.equal(challenge.scheme.toLowerCase(), "bearer");
  assert.equal(challenge.params.resource_metadata, metadataUrlOf(hub));
  assert.equal(challenge.params.error, error, `error=${String(error)} in ${header}`);
  assert.equal(challenge.params.error_description, undefined, "no reason is given to the client");
}

function problemCode(body: string): string {
  return (JSON.parse(body) as { code: string }).code;
}

/**
 * A watcher seeing everything dispatched (private included), and the ordered-marker check: a
 * marker before and one after the refused request, adjacent in the stream, prove that nothing
 * was dispatched in between, whatever earlier tests published.
 */
async function watch(hub: TestHub): Promise<{
  stream: Stream;
  nothingDispatchedDuring<T>(action: () => Promise<T>): Promise<T>;
}> {
  const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
    headers: { Authorization: `Bearer ${await hub.token({ subscribe: ["*"] })}` },
  });
  assert.equal(stream.status, 200);
  const markerToken = await hub.token({ publish: ["https://example.com/marker"] });
  /** Publishes a marker and resolves with its position in the stream once it arrived. */
  async function marker(): Promise<number> {
    const result = await publish(
      hub,
      { topic: "https://example.com/marker", data: "marker" },
      { token: markerToken },
    );
    assert.equal(result.status, 200);
    await waitForId(stream, result.body);
    return stream.events.findIndex((event) => event.id === result.body);
  }
  return {
    stream,
    async nothingDispatchedDuring(action) {
      const first = await marker();
      const result = await action();
      const second = await marker();
      assert.equal(second, first + 1, "the two markers are adjacent: nothing was dispatched between them");
      return result;
    },
  };
}

/** Waits until an event with this id arrived on the stream. */
async function waitForId(stream: Stream, id: string): Promise<void> {
  for (let count = 1; ; count++) {
    const events = await stream.waitForEvents(count);
    if (events[count - 1]!.id === id) return;
  }
}

describe("publish authorization", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let watcher: Awaited<ReturnType<typeof watch>>;
  let rsaPrivate: jose.KeyObject;
  let rsaPublicPem: string;

  before(async () => {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    rsaPrivate = pair.privateKey;
    rsaPublicPem = pair.publicKey.export({ type: "spki", format: "pem" }).toString();
    const config = await writeConfig("publish.json", {
      issuers: [
        { issuer: OTHER_ISSUER, publisher: { key: OTHER_SECRET } },
        { issuer: RSA_ISSUER, publisher: { key: rsaPublicPem } },
      ],
    });
    hub = await startTestHub({
      config,
      "max-authorization-details": "4",
      "max-topics-per-detail": "4",
      "max-token-bytes": "8192",
    });
    watcher = await watch(hub);
  });
  after(async () => {
    watcher.stream.close();
    await hub.close();
  });

  /** Claims granting publish on every topic, for `issuer` and the hub's audience. */
  function publishAll(overrides: Record<string, unknown> = {}, issuer = ISSUER): Record<string, unknown> {
    return accessClaims(issuer, hub.resourceIdentifier, [detail(["publish"], [{ match: "*" }])], overrides);
  }

  async function publishWith(token: string, topics: string[] = ["https://example.com/a"]) {
    return publish(hub, [...topics.map((topic): [string, string] => ["topic", topic]), ["data", "x"]], {
      token,
    });
  }

  it("answers 401 with a resource_metadata challenge and no error when no token is given", async () => {
    const result = await watcher.nothingDispatchedDuring(() =>
      publish(hub, { topic: "https://example.com/a", data: "x" }),
    );
    assert.equal(result.status, 401);
    assertChallenge(hub, result.headers.get("www-authenticate"));
    assert.equal(problemCode(result.body), "token_missing");
  });

  describe("token validation", () => {
    const now = () => Math.floor(Date.now() / 1000);
    const accepted: [string, () => Promise<string>][] = [
      [
        "a well-formed HS256 access token",
        () => signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll(), secret),
      ],
      [
        "typ application/at+jwt",
        () => signJwt({ alg: "HS256", typ: "application/at+jwt" }, publishAll(), secret),
      ],
      [
        "a hand-built HS256 token (the control for the crit case)",
        async () => hs256Jwt({ typ: "at+jwt" }, publishAll(), SECRET),
      ],
      ["typ in upper case", () => signJwt({ alg: "HS256", typ: "AT+JWT" }, publishAll(), secret)],
      [
        "aud as an array holding the resource identifier",
        () =>
          signJwt(
            { alg: "HS256", typ: "at+jwt" },
            publishAll({ aud: ["https://elsewhere.example", hub.resourceIdentifier] }),
            secret,
          ),
      ],
      [
        "a token without sub, client_id, iat or jti",
        () =>
          signJwt(
            { alg: "HS256", typ: "at+jwt" },
            publishAll({ sub: undefined, client_id: undefined, iat: undefined, jti: undefined }),
            secret,
          ),
      ],
      [
        "another configured issuer's token signed with its own key",
        () =>
          signJwt(
            { alg: "HS256", typ: "at+jwt" },
            publishAll({}, OTHER_ISSUER),
            new TextEncoder().encode(OTHER_SECRET),
          ),
      ],
      [
        "an RS256 token of the RSA issuer",
        () => signJwt({ alg: "RS256", typ: "at+jwt" }, publishAll({}, RSA_ISSUER), rsaPrivate),
      ],
    ];
    for (const [what, make] of accepted) {
      it(`accepts ${what}`, async () => {
        const result = await publishWith(await make());
        assert.equal(result.status, 200, result.body);
      });
    }

    const refused: [string, () => Promise<string>][] = [
      ["typ JWT", () => signJwt({ alg: "HS256", typ: "JWT" }, publishAll(), secret)],
      ["no typ", () => signJwt({ alg: "HS256" }, publishAll(), secret)],
      ["alg none", async () => unsignedJwt({ alg: "none", typ: "at+jwt" }, publishAll())],
      [
        "a wrong aud",
        () =>
          signJwt(
            { alg: "HS256", typ: "at+jwt" },
            publishAll({ aud: "https://other-hub.example/.well-known/mercure" }),
            secret,
          ),
      ],
      ["no aud", () => signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll({ aud: undefined }), secret)],
      [
        "an exp in the past",
        () => signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll({ exp: now() - 120 }), secret),
      ],
      ["no exp", () => signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll({ exp: undefined }), secret)],
      [
        "an nbf in the future",
        () => signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll({ nbf: now() + 600 }), secret),
      ],
      [
        "an unknown issuer",
        () => signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll({}, "https://unknown.test"), secret),
      ],
      ["no iss", () => signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll({ iss: undefined }), secret)],
      [
        "our iss signed with another issuer's key",
        () => signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll(), new TextEncoder().encode(OTHER_SECRET)),
      ],
      [
        "another issuer's iss signed with our key",
        () => signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll({}, OTHER_ISSUER), secret),
      ],
      [
        "HS256 signed with the RSA issuer's PEM public key as the secret (algorithm confusion)",
        () =>
          signJwt(
            { alg: "HS256", typ: "at+jwt" },
            publishAll({}, RSA_ISSUER),
            new TextEncoder().encode(rsaPublicPem),
          ),
      ],
      [
        "a jku header (a key set URL of its own)",
        () =>
          signJwt(
            { alg: "HS256", typ: "at+jwt", jku: "https://evil.example/jwks.json" },
            publishAll(),
            secret,
          ),
      ],
      [
        "a crit header",
        async () =>
          hs256Jwt({ typ: "at+jwt", crit: ["urn:example:ext"], "urn:example:ext": 1 }, publishAll(), SECRET),
      ],
      [
        "a token over max-token-bytes",
        () => signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll({ padding: "x".repeat(9000) }), secret),
      ],
      [
        "a key of its own in a jwk header",
        async () => {
          const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
          return signJwt(
            { alg: "ES256", typ: "at+jwt", jwk: await jose.exportJWK(publicKey) },
            publishAll(),
            privateKey,
          );
        },
      ],
      [
        "a tampered payload",
        async () => {
          const token = await signJwt(
            { alg: "HS256", typ: "at+jwt" },
            accessClaims(ISSUER, hub.resourceIdentifier, [
              detail(["publish"], [{ match: "https://example.com/nothing" }]),
            ]),
            secret,
          );
          const [head, , signature] = token.split(".");
          const forged = Buffer.from(JSON.stringify(publishAll())).toString("base64url");
          return `${head}.${forged}.${signature}`;
        },
      ],
    ];
    const bodies = new Set<string>();
    for (const [what, make] of refused) {
      it(`refuses ${what} with 401 invalid_token, saying nothing of why`, async () => {
        const token = await make();
        const result = await watcher.nothingDispatchedDuring(() => publishWith(token));
        assert.equal(result.status, 401, result.body);
        assertChallenge(hub, result.headers.get("www-authenticate"), "invalid_token");
        assert.equal(problemCode(result.body), "token_invalid");
        bodies.add(result.body);
      });
    }
    it("refuses with 401 invalid_token a token whose signature is spelled non-canonically in base64url, before and after its canonical spelling is accepted", async () => {
      const token = await signJwt({ alg: "HS256", typ: "at+jwt" }, publishAll(), secret);
      const [header, payload, signature] = token.split(".") as [string, string, string];
      const spellings = nonCanonicalSpellings(signature).map(
        (spelling) => `${header}.${payload}.${spelling}`,
      );
      assert.ok(spellings.length > 0);
      const refuse = async (tweaked: string) => {
        const result = await watcher.nothingDispatchedDuring(() => publishWith(tweaked));
        assert.equal(result.status, 401, result.body);
        assertChallenge(hub, result.headers.get("www-authenticate"), "invalid_token");
        assert.equal(problemCode(result.body), "token_invalid");
        bodies.add(result.body);
      };
      await refuse(spellings[0]!);
      // The canonical spelling is accepted, and cached: no other spelling may ride on that entry.
      assert.equal((await publishWith(token)).status, 200);
      for (const tweaked of spellings) await refuse(tweaked);
      assert.equal((await publishWith(token)).status, 200);
    });

    it("sends the same body for every kind of bad token", () => {
      assert.equal(bodies.size, 1, [...bodies].join("\n"));
    });
  });

  describe("presentation", () => {
    it("refuses two Authorization headers with 400 invalid_request, even both valid", async () => {
      const token = await hub.token({ publish: ["*"] });
      const result = await watcher.nothingDispatchedDuring(() =>
        rawRequest(hub.hubUrl, {
          method: "POST",
          headers: formHeaders({ Authorization: [`Bearer ${token}`, `Bearer ${token}`] }),
          body: "topic=https://example.com/a&data=x",
        }),
      );
      assert.equal(result.status, 400, result.body);
      assertChallenge(hub, result.headers["www-authenticate"], "invalid_request");
    });

    const malformed: [string, string][] = [
      ["a Basic scheme", "Basic dXNlcjpwYXNzd29yZA=="],
      ["a Bearer scheme without credentials", "Bearer"],
      ["a Bearer credential with a space in it", "Bearer abc.def ghi"],
    ];
    for (const [what, authorization] of malformed) {
      it(`refuses ${what} with 400 invalid_request`, async () => {
        const result = await watcher.nothingDispatchedDuring(() =>
          rawRequest(hub.hubUrl, {
            method: "POST",
            headers: formHeaders({ Authorization: authorization }),
            body: "topic=https://example.com/a&data=x",
          }),
        );
        assert.equal(result.status, 400, result.body);
        assertChallenge(hub, result.headers["www-authenticate"], "invalid_request");
        assert.equal(problemCode(result.body), "token_malformed_request");
      });
    }

    for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
      it(`accepts the scheme spelled ${scheme}`, async () => {
        const token = await hub.token({ publish: ["*"] });
        const result = await publish(
          hub,
          { topic: "https://example.com/a", data: "x" },
          { headers: { Authorization: `${scheme} ${token}` } },
        );
        assert.equal(result.status, 200, result.body);
      });
    }

    it("never reads the access_token query parameter", async () => {
      const token = await hub.token({ publish: ["*"] });
      const url = new URL(hub.hubUrl);
      url.searchParams.set("access_token", token);
      const response = await watcher.nothingDispatchedDuring(() =>
        fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded" },
          body: "topic=https://example.com/a&data=x",
        }),
      );
      assert.equal(response.status, 401);
      assertChallenge(hub, response.headers.get("www-authenticate"));
    });

    it("never reads an access_token form field", async () => {
      const token = await hub.token({ publish: ["*"] });
      const result = await watcher.nothingDispatchedDuring(() =>
        publish(hub, [
          ["topic", "https://example.com/a"],
          ["access_token", token],
        ]),
      );
      assert.equal(result.status, 401);
      assertChallenge(hub, result.headers.get("www-authenticate"));
    });
  });

  describe("grants", () => {
    it("refuses 403 insufficient_scope when only the canonical topic is granted", async () => {
      const token = await hub.token({ publish: ["https://example.com/books/1"] });
      const result = await watcher.nothingDispatchedDuring(() =>
        publishWith(token, ["https://example.com/books/1", "https://example.com/users/42"]),
      );
      assert.equal(result.status, 403, result.body);
      assertChallenge(hub, result.headers.get("www-authenticate"), "insufficient_scope");
      assert.equal(problemCode(result.body), "insufficient_scope");
    });

    it("refuses 403 insufficient_scope when only the alternate topic is granted", async () => {
      const token = await hub.token({ publish: ["https://example.com/users/42"] });
      const result = await watcher.nothingDispatchedDuring(() =>
        publishWith(token, ["https://example.com/books/1", "https://example.com/users/42"]),
      );
      assert.equal(result.status, 403, result.body);
      assertChallenge(hub, result.headers.get("www-authenticate"), "insufficient_scope");
    });

    it("refuses 403 a token that grants only subscribe", async () => {
      const token = await hub.token({ subscribe: ["*"] });
      const result = await watcher.nothingDispatchedDuring(() => publishWith(token));
      assert.equal(result.status, 403, result.body);
      assertChallenge(hub, result.headers.get("www-authenticate"), "insufficient_scope");
    });

    it("publishes when every topic is granted, and dispatches the update", async () => {
      const token = await hub.token({
        publish: ["https://example.com/books/1", "https://example.com/users/42"],
      });
      const result = await publishWith(token, [
        "https://example.com/books/1",
        "https://example.com/users/42",
      ]);
      assert.equal(result.status, 200, result.body);
      await waitForId(watcher.stream, result.body);
    });

    const grants: [string, () => Promise<string>, string, string][] = [
      [
        "an exact topic",
        () => hub.token({ publish: ["https://example.com/books/1"] }),
        "https://example.com/books/1",
        "https://example.com/books/10",
      ],
      [
        "a URL Pattern",
        () => hub.token({ publishUrlPattern: ["https://example.com/books/:id"] }),
        "https://example.com/books/7",
        "https://example.com/books/7/reviews",
      ],
      [
        "a relative URL Pattern (resolved against the hub URL)",
        () => hub.token({ publishUrlPattern: ["/books/:id"] }),
        "/books/7",
        "/authors/7",
      ],
      ["the * wildcard", () => hub.token({ publish: ["*"] }), "urn:anything:at-all", "/.well-known/mercure"],
      [
        "the * wildcard with match_type urlpattern",
        () => hub.token({ publishUrlPattern: ["*"] }),
        "https://example.com/x",
        "/.well-known/mercure",
      ],
    ];
    for (const [what, make, granted, other] of grants) {
      it(`grants publish by ${what}`, async () => {
        const token = await make();
        const ok = await publishWith(token, [granted]);
        assert.equal(ok.status, 200, ok.body);
        const refused = await publishWith(token, [other]);
        // The reserved namespace is refused (400) whatever the token; anything else needs the grant.
        assert.equal(refused.status, other === "/.well-known/mercure" ? 400 : 403, refused.body);
      });
    }

    it("treats the exact matcher as byte-for-byte (no normalization widens it)", async () => {
      const token = await hub.token({ publish: ["https://example.com/books/1"] });
      for (const topic of [
        "https://EXAMPLE.com/books/1",
        "https://example.com/books/1/",
        "https://example.com/books/%31",
      ]) {
        const result = await publishWith(token, [topic]);
        assert.equal(result.status, 403, `${topic}: ${result.body}`);
      }
    });
  });

  describe("authorization_details", () => {
    const everything = detail(["publish"], [{ match: "*" }]);
    const malformed: [string, unknown][] = [
      ["an unsupported match_type", [everything, detail(["publish"], [{ match: "x", match_type: "regex" }])]],
      [
        "a match_type in another case",
        [everything, detail(["publish"], [{ match: "x", match_type: "Exact" }])],
      ],
      ["an empty match_type", [everything, detail(["publish"], [{ match: "x", match_type: "" }])]],
      ["empty actions", [everything, detail([], [{ match: "x" }])]],
      ["actions that are not an array", [everything, detail("publish", [{ match: "x" }])]],
      ["a non-string action", [everything, detail(["publish", 42], [{ match: "x" }])]],
      [
        "no actions",
        [everything, { type: "https://mercure.rocks/authorization-detail", topics: [{ match: "x" }] }],
      ],
      ["empty topics", [everything, detail(["publish"], [])]],
      [
        "no topics",
        [everything, { type: "https://mercure.rocks/authorization-detail", actions: ["publish"] }],
      ],
      [
        "a topic that is a string, not an object",
        [everything, detail(["publish"], ["https://example.com/x"])],
      ],
      ["a topic without match", [everything, detail(["publish"], [{ match_type: "exact" }])]],
      ["a non-string match", [everything, detail(["publish"], [{ match: 42 }])]],
      [
        "a malformed URL Pattern",
        [everything, detail(["publish"], [{ match: "https://example.com/(", match_type: "urlpattern" }])],
      ],
      [
        "a payload that is not an object",
        [everything, detail(["subscribe"], [{ match: "x" }], { payload: "p" })],
      ],
      ["a detail that is not an object", [everything, "https://mercure.rocks/authorization-detail"]],
      ["a detail without a type", [everything, { actions: ["publish"], topics: [{ match: "x" }] }]],
      ["a claim that is not an array", everything],
      [
        "more Mercure details than the limit (4)",
        [everything, everything, everything, everything, everything],
      ],
      [
        "more topics in a detail than the limit (4)",
        [
          everything,
          detail(
            ["publish"],
            ["a", "b", "c", "d", "e"].map((match) => ({ match })),
          ),
        ],
      ],
      [
        "a match longer than the pattern limit",
        [everything, detail(["publish"], [{ match: "x".repeat(2049) }])],
      ],
    ];
    for (const [what, details] of malformed) {
      it(`refuses a token with ${what} with 401 invalid_token, whatever the other details grant`, async () => {
        const token = await signJwt(
          { alg: "HS256", typ: "at+jwt" },
          accessClaims(ISSUER, hub.resourceIdentifier, details),
          secret,
        );
        const result = await watcher.nothingDispatchedDuring(() => publishWith(token));
        assert.equal(result.status, 401, result.body);
        assertChallenge(hub, result.headers.get("www-authenticate"), "invalid_token");
      });
    }

    const valid: [string, unknown, number][] = [
      [
        "exactly as many details and topics as the limits",
        [
          everything,
          everything,
          everything,
          detail(
            ["publish"],
            ["a", "b", "c", "d"].map((match) => ({ match })),
          ),
        ],
        200,
      ],
      ["an unknown action next to publish", [detail(["publish", "frobnicate"], [{ match: "*" }])], 200],
      ["only unknown actions (valid, grants nothing)", [detail(["frobnicate"], [{ match: "*" }])], 403],
      [
        "a detail of another type with any content",
        [{ type: "https://example.com/other", actions: 5, topics: "none" }, everything],
        200,
      ],
      [
        "a detail of another type only",
        [{ type: "https://example.com/other", actions: ["publish"], topics: [{ match: "*" }] }],
        403,
      ],
      ["an empty authorization_details", [], 403],
      ["no authorization_details at all", undefined, 403],
      [
        "a match without match_type (exact)",
        [detail(["publish"], [{ match: "https://example.com/a" }])],
        200,
      ],
    ];
    for (const [what, details, status] of valid) {
      it(`accepts a token with ${what} (${status})`, async () => {
        const token = await signJwt(
          { alg: "HS256", typ: "at+jwt" },
          accessClaims(ISSUER, hub.resourceIdentifier, details),
          secret,
        );
        const result = await publishWith(token);
        assert.equal(result.status, status, result.body);
        if (status === 403)
          assertChallenge(hub, result.headers.get("www-authenticate"), "insufficient_scope");
      });
    }
  });
});

describe("separate publisher and subscriber keys", { timeout: 30_000 }, () => {
  const SUBSCRIBER_SECRET = "a-subscriber-secret-that-is-long-enough-too";
  let hub: TestHub;

  before(async () => {
    hub = await startTestHub({ "subscriber-key": SUBSCRIBER_SECRET });
  });
  after(async () => {
    await hub.close();
  });

  it("refuses to publish with a token signed with the subscriber key", async () => {
    const token = await hub.token({ publish: ["*"], key: SUBSCRIBER_SECRET });
    const result = await publish(hub, { topic: "https://example.com/a" }, { token });
    assert.equal(result.status, 401);
    assertChallenge(hub, result.headers.get("www-authenticate"), "invalid_token");
    const good = await publish(
      hub,
      { topic: "https://example.com/a" },
      { token: await hub.token({ publish: ["*"] }) },
    );
    assert.equal(good.status, 200);
  });

  it("refuses to subscribe with a token signed with the publisher key", async () => {
    const url = subscribeUrl(hub.hubUrl, [["match", "*"]]);
    const wrong = await openStream(url, {
      headers: { Authorization: `Bearer ${await hub.token({ subscribe: ["*"] })}` },
    });
    assert.equal(wrong.status, 401);
    assertChallenge(hub, wrong.headers["www-authenticate"] as string, "invalid_token");
    const right = await openStream(url, {
      headers: { Authorization: `Bearer ${await hub.token({ subscribe: ["*"], key: SUBSCRIBER_SECRET })}` },
    });
    assert.equal(right.status, 200);
    right.close();
  });
});

describe("subscribe authorization", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let publisher: string;

  before(async () => {
    hub = await startTestHub();
    publisher = await hub.token({ publish: ["*"] });
  });
  after(async () => {
    await hub.close();
  });

  function subscribe(parameters: [string, string][], headers: Record<string, string> = {}): Promise<Stream> {
    return openStream(subscribeUrl(hub.hubUrl, parameters), { headers });
  }

  async function send(topics: string[], data: string, isPrivate: boolean): Promise<string> {
    const fields: [string, string][] = topics.map((topic) => ["topic", topic]);
    fields.push(["data", data]);
    if (isPrivate) fields.push(["private", "on"]);
    const result = await publish(hub, fields, { token: publisher });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  it("answers 401 without an error when no token is given (anonymous subscribers are off)", async () => {
    const stream = await subscribe([["match", "*"]]);
    assert.equal(stream.status, 401);
    assertChallenge(hub, stream.headers["www-authenticate"] as string);
    assert.equal(problemCode(await stream.body), "token_missing");
  });

  it("never reads the access_token query parameter", async () => {
    const token = await hub.token({ subscribe: ["*"] });
    const stream = await subscribe([
      ["match", "*"],
      ["access_token", token],
    ]);
    assert.equal(stream.status, 401);
    assertChallenge(hub, stream.headers["www-authenticate"] as string);
  });

  it("answers 401 invalid_token for a bad token", async () => {
    const token = await hub.token({
      subscribe: ["*"],
      audience: "https://other-hub.example/.well-known/mercure",
    });
    const stream = await subscribe([["match", "*"]], { Authorization: `Bearer ${token}` });
    assert.equal(stream.status, 401);
    assertChallenge(hub, stream.headers["www-authenticate"] as string, "invalid_token");
  });

  it("answers 400 invalid_request for two Authorization headers", async () => {
    const token = await hub.token({ subscribe: ["*"] });
    const result = await rawRequest(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { Authorization: [`Bearer ${token}`, `Bearer ${token}`] },
    });
    assert.equal(result.status, 400);
    assertChallenge(hub, result.headers["www-authenticate"], "invalid_request");
  });

  it("delivers a private update only to tokens granting subscribe on one of its topics; matchers never widen", async () => {
    const books1 = await subscribe([["match", "*"]], {
      Authorization: `Bearer ${await hub.token({ subscribe: ["https://example.com/books/1"] })}`,
    });
    const nothing = await subscribe([["match", "*"]], {
      Authorization: `Bearer ${await hub.token({ subscribe: ["https://example.com/unrelated"] })}`,
    });
    assert.equal(books1.status, 200);
    assert.equal(nothing.status, 200);
    const private2 = await send(["https://example.com/books/2"], "private books/2", true);
    const private1 = await send(["https://example.com/books/1"], "private books/1", true);
    const public2 = await send(["https://example.com/books/2"], "public books/2", false);
    assert.deepEqual(
      (await books1.waitForEvents(2)).map((event) => event.id),
      [private1, public2],
      "private books/1 then public books/2: private books/2 was never delivered",
    );
    assert.deepEqual(
      (await nothing.waitForEvents(1)).map((event) => event.id),
      [public2],
      "a token without a matching grant gets public updates only",
    );
    assert.ok(!books1.events.some((event) => event.id === private2));
    books1.close();
    nothing.close();
  });

  it("delivers a private update through a granted alternate topic (the draft's users/42 example)", async () => {
    const token = await hub.token({ subscribeUrlPattern: ["https://example.com/users/42/*"] });
    const stream = await subscribe([["match_urlpattern", "https://example.com/books/:id"]], {
      Authorization: `Bearer ${token}`,
    });
    const routedOnly = await subscribe([["match_urlpattern", "https://example.com/books/:id"]], {
      Authorization: `Bearer ${await hub.token({ subscribe: ["https://example.com/unrelated"] })}`,
    });
    await send(["https://example.com/books/3", "https://example.com/users/43/books/3"], "for user 43", true);
    await send(["https://example.com/books/4"], "no alternate", true);
    const delivered = await send(
      ["https://example.com/books/1", "https://example.com/users/42/books/1"],
      "for user 42",
      true,
    );
    const marker = await send(["https://example.com/books/9"], "public", false);
    assert.deepEqual(
      (await stream.waitForEvents(2)).map((event) => event.id),
      [delivered, marker],
      "only the update whose alternate topic is granted, then the public marker",
    );
    assert.deepEqual(
      (await routedOnly.waitForEvents(1)).map((event) => event.id),
      [marker],
      "routing on books/:id alone never reveals a private update",
    );
    stream.close();
    routedOnly.close();
  });

  it("grants subscribe on the canonical topic even when alternates are not granted", async () => {
    const token = await hub.token({ subscribe: ["https://example.com/books/5"] });
    const stream = await subscribe([["match", "https://example.com/books/5"]], {
      Authorization: `Bearer ${token}`,
    });
    const id = await send(["https://example.com/books/5", "https://example.com/users/7/books/5"], "x", true);
    assert.deepEqual(
      (await stream.waitForEvents(1)).map((event) => event.id),
      [id],
    );
    stream.close();
  });

  describe("cookie", () => {
    it("accepts the token in the default cookie alone", async () => {
      const token = await hub.token({ subscribe: ["https://example.com/cookie"] });
      const stream = await subscribe([["match", "https://example.com/cookie"]], {
        Cookie: `other=1; ${DEFAULT_COOKIE}=${token}; more=2`,
      });
      assert.equal(stream.status, 200);
      const id = await send(["https://example.com/cookie"], "private", true);
      assert.equal((await stream.waitForEvents(1))[0]!.id, id, "the cookie's grants apply");
      stream.close();
    });

    it("answers 401 invalid_token for a garbage cookie alone", async () => {
      const stream = await subscribe([["match", "*"]], { Cookie: `${DEFAULT_COOKIE}=garbage` });
      assert.equal(stream.status, 401);
      assertChallenge(hub, stream.headers["www-authenticate"] as string, "invalid_token");
    });

    it("uses the header and ignores the cookie when both are present (valid header, garbage cookie)", async () => {
      const token = await hub.token({ subscribe: ["https://example.com/both"] });
      const stream = await subscribe([["match", "https://example.com/both"]], {
        Authorization: `Bearer ${token}`,
        Cookie: `${DEFAULT_COOKIE}=garbage`,
      });
      assert.equal(stream.status, 200);
      const id = await send(["https://example.com/both"], "private", true);
      assert.equal((await stream.waitForEvents(1))[0]!.id, id);
      stream.close();
    });

    it("uses the header and ignores the cookie when both are present (bad header, valid cookie)", async () => {
      const valid = await hub.token({ subscribe: ["*"] });
      const bad = await signJwt(
        { alg: "HS256", typ: "at+jwt" },
        accessClaims(ISSUER, hub.resourceIdentifier, [detail(["subscribe"], [{ match: "*" }])]),
        new TextEncoder().encode(OTHER_SECRET),
      );
      const stream = await subscribe([["match", "*"]], {
        Authorization: `Bearer ${bad}`,
        Cookie: `${DEFAULT_COOKIE}=${valid}`,
      });
      assert.equal(stream.status, 401);
      assertChallenge(hub, stream.headers["www-authenticate"] as string, "invalid_token");
    });

    it("reads only the configured cookie name", async () => {
      const custom = await startTestHub({ "cookie-name": "mercureAuthorization" });
      try {
        const token = await custom.token({ subscribe: ["https://example.com/c"] });
        const url = subscribeUrl(custom.hubUrl, [["match", "https://example.com/c"]]);
        const ignored = await openStream(url, { headers: { Cookie: `${DEFAULT_COOKIE}=${token}` } });
        assert.equal(ignored.status, 401, "the default name is not read when another is configured");
        assert.equal(parseChallenge(ignored.headers["www-authenticate"] as string).params.error, undefined);
        const stream = await openStream(url, { headers: { Cookie: `mercureAuthorization=${token}` } });
        assert.equal(stream.status, 200);
        const sent = await publish(
          custom,
          { topic: "https://example.com/c", data: "x", private: "on" },
          { token: await custom.token({ publish: ["*"] }) },
        );
        assert.equal((await stream.waitForEvents(1))[0]!.id, sent.body);
        stream.close();
      } finally {
        await custom.close();
      }
    });
  });

  it("closes the stream at the token's exp, and the hub keeps running", async () => {
    const token = await hub.token({ subscribe: ["*"], ttlSeconds: 2 });
    const stream = await subscribe([["match", "*"]], { Authorization: `Bearer ${token}` });
    assert.equal(stream.status, 200);
    await stream.ended;
    assert.ok(stream.comments.length >= 1, "the stream had started");
    const health = await fetch(`${hub.origin}/healthz`);
    assert.equal(health.status, 200);
    const fresh = await subscribe([["match", "*"]], {
      Authorization: `Bearer ${await hub.token({ subscribe: ["*"] })}`,
    });
    assert.equal(fresh.status, 200);
    const id = await send(["https://example.com/after-exp"], "x", true);
    assert.equal((await fresh.waitForEvents(1))[0]!.id, id);
    fresh.close();
  });
});

describe("anonymous subscribers", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let publisher: string;

  before(async () => {
    hub = await startTestHub({ anonymous: true });
    publisher = await hub.token({ publish: ["*"] });
  });
  after(async () => {
    await hub.close();
  });

  async function send(topic: string, data: string, isPrivate: boolean): Promise<string> {
    const result = await publish(hub, isPrivate ? { topic, data, private: "" } : { topic, data }, {
      token: publisher,
    });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  it("streams public updates only to a subscriber without a token", async () => {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]));
    assert.equal(stream.status, 200);
    await send("https://example.com/anon", "private", true);
    const id = await send("https://example.com/anon", "public", false);
    assert.deepEqual(
      (await stream.waitForEvents(1)).map((event) => event.id),
      [id],
    );
    stream.close();
  });

  it("treats an access_token query parameter as no token: public updates only", async () => {
    const token = await hub.token({ subscribe: ["*"] });
    const stream = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "*"],
        ["access_token", token],
      ]),
    );
    assert.equal(stream.status, 200);
    await send("https://example.com/anon", "private", true);
    const id = await send("https://example.com/anon", "public", false);
    assert.deepEqual(
      (await stream.waitForEvents(1)).map((event) => event.id),
      [id],
    );
    stream.close();
  });

  it("still refuses an invalid token with 401 (no silent downgrade to anonymous)", async () => {
    for (const token of [
      await hub.token({ subscribe: ["*"], audience: "https://other-hub.example/.well-known/mercure" }),
      await hub.token({ subscribe: ["*"], key: OTHER_SECRET }),
    ]) {
      const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(stream.status, 401);
      assertChallenge(hub, stream.headers["www-authenticate"] as string, "invalid_token");
    }
    const cookie = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { Cookie: `${DEFAULT_COOKIE}=garbage` },
    });
    assert.equal(cookie.status, 401, "a bad cookie is not ignored either");
  });

  it("gives private updates to a subscriber with a granting token", async () => {
    const token = await hub.token({ subscribe: ["https://example.com/anon"] });
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { Authorization: `Bearer ${token}` },
    });
    const id = await send("https://example.com/anon", "private", true);
    assert.equal((await stream.waitForEvents(1))[0]!.id, id);
    stream.close();
  });
});

describe("cookie-authenticated publish (CSRF)", { timeout: 30_000 }, () => {
  const APP = "https://app.example.com";
  let hub: TestHub;
  let watcher: Awaited<ReturnType<typeof watch>>;
  let token: string;

  before(async () => {
    hub = await startTestHub({ "publish-origins": APP });
    watcher = await watch(hub);
    token = await hub.token({ publish: ["*"] });
  });
  after(async () => {
    watcher.stream.close();
    await hub.close();
  });

  function cookiePublish(headers: Record<string, string>): Promise<RawResponse> {
    return rawRequest(hub.hubUrl, {
      method: "POST",
      headers: formHeaders({ Cookie: `${DEFAULT_COOKIE}=${token}`, ...headers }),
      body: "topic=https://example.com/csrf&data=x",
    });
  }

  const refused: [string, Record<string, string>][] = [
    ["without Origin or Referer", {}],
    ["from an Origin not on publish-origins", { Origin: "https://evil.example" }],
    ["from a look-alike Origin", { Origin: "https://app.example.com.evil.example" }],
    ["from the null Origin", { Origin: "null" }],
    ["with a Referer not on publish-origins", { Referer: "https://evil.example/app.example.com" }],
    [
      "with an allowed Referer but a refused Origin",
      { Origin: "https://evil.example", Referer: `${APP}/page` },
    ],
  ];
  for (const [what, headers] of refused) {
    it(`refuses a cookie publish ${what} with 403 origin_refused`, async () => {
      const result = await watcher.nothingDispatchedDuring(() => cookiePublish(headers));
      assert.equal(result.status, 403, result.body);
      assert.equal(problemCode(result.body), "origin_refused");
    });
  }

  it("accepts a cookie publish from an allowed Origin", async () => {
    const result = await cookiePublish({ Origin: APP });
    assert.equal(result.status, 200, result.body);
  });

  it("accepts a cookie publish with an allowed Referer and no Origin", async () => {
    const result = await cookiePublish({ Referer: `${APP}/some/page?x=1` });
    assert.equal(result.status, 200, result.body);
  });

  it("needs no Origin for a header-authenticated publish, even with a cookie present", async () => {
    const result = await rawRequest(hub.hubUrl, {
      method: "POST",
      headers: formHeaders({ Authorization: `Bearer ${token}`, Cookie: `${DEFAULT_COOKIE}=garbage` }),
      body: "topic=https://example.com/csrf&data=x",
    });
    assert.equal(result.status, 200, result.body);
  });

  it("still checks the cookie's grants after the origin", async () => {
    const narrow = await hub.token({ publish: ["https://example.com/other"] });
    const result = await rawRequest(hub.hubUrl, {
      method: "POST",
      headers: formHeaders({ Cookie: `${DEFAULT_COOKIE}=${narrow}`, Origin: APP }),
      body: "topic=https://example.com/csrf&data=x",
    });
    assert.equal(result.status, 403);
    assert.equal(problemCode(result.body), "insufficient_scope");
  });
});

describe("protected resource metadata", { timeout: 30_000 }, () => {
  const PATH = "/.well-known/oauth-protected-resource/.well-known/mercure";

  async function metadata(hub: TestHub): Promise<Record<string, unknown>> {
    const response = await fetch(`${hub.origin}${PATH}`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    return (await response.json()) as Record<string, unknown>;
  }

  it("describes a default hub", async () => {
    const hub = await startTestHub();
    try {
      assert.deepEqual(await metadata(hub), {
        resource: hub.hubUrl,
        authorization_details_types_supported: ["https://mercure.rocks/authorization-detail"],
        bearer_methods_supported: ["header"],
        mercure_cookie: DEFAULT_COOKIE,
      });
    } finally {
      await hub.close();
    }
  });

  it("follows resource-identifier, cookie-name and authorization-servers", async () => {
    const resource = "https://hub.example.com/.well-known/mercure";
    const hub = await startTestHub({
      "resource-identifier": resource,
      "cookie-name": "mercureAuthorization",
      "authorization-servers": "https://as.example.com,https://as2.example.com",
    });
    try {
      const document = await metadata(hub);
      assert.equal(document.resource, resource);
      assert.equal(document.mercure_cookie, "mercureAuthorization");
      assert.deepEqual(document.authorization_servers, ["https://as.example.com", "https://as2.example.com"]);
      assert.deepEqual(document.bearer_methods_supported, ["header"]);
      assert.equal("mercure_subscriptions" in document, false, "active subscriptions are not built");
      // The resource identifier is what aud must hold.
      const good = await publish(hub, { topic: "a" }, { token: await hub.token({ publish: ["*"] }) });
      assert.equal(good.status, 200, good.body);
      const hubAudience = await hub.token({ publish: ["*"], audience: hub.hubUrl });
      const bad = await publish(hub, { topic: "a" }, { token: hubAudience });
      assert.equal(bad.status, 401);
    } finally {
      await hub.close();
    }
  });
});

describe("JWK Set issuer", { timeout: 30_000 }, () => {
  const IDP = "https://idp.test";
  let jwksServer: Server;
  let fetches = 0;
  let signingKey: jose.CryptoKey;
  let hub: TestHub;

  before(async () => {
    const pair = await jose.generateKeyPair("ES256", { extractable: true });
    signingKey = pair.privateKey;
    const jwk = { ...(await jose.exportJWK(pair.publicKey)), kid: "key-1", alg: "ES256", use: "sig" };
    jwksServer = createServer((req, res) => {
      fetches++;
      if (req.url !== "/jwks.json") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "Content-Type": "application/jwk-set+json" });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
    const { port } = jwksServer.address() as AddressInfo;
    const config = await writeConfig("jwks.json", {
      issuers: [{ issuer: IDP, subscriber: { jwksUri: `http://127.0.0.1:${port}/jwks.json` } }],
    });
    hub = await startTestHub({ config });
  });
  after(async () => {
    await hub.close();
    jwksServer.close();
  });

  function idpToken(key: jose.CryptoKey, actions: string[], kid = "key-1"): Promise<string> {
    return signJwt(
      { alg: "ES256", typ: "at+jwt", kid },
      accessClaims(IDP, hub.resourceIdentifier, [detail(actions, [{ match: "https://example.com/idp" }])]),
      key,
    );
  }

  it("lets a token signed with the issuer's published key read private updates", async () => {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { Authorization: `Bearer ${await idpToken(signingKey, ["subscribe"])}` },
    });
    assert.equal(stream.status, 200);
    assert.ok(fetches >= 1, "the hub fetched the JWK Set");
    const sent = await publish(
      hub,
      { topic: "https://example.com/idp", data: "x", private: "on" },
      { token: await hub.token({ publish: ["*"] }) },
    );
    assert.equal((await stream.waitForEvents(1))[0]!.id, sent.body);
    stream.close();
  });

  it("refuses a token signed with another key under the same kid", async () => {
    const other = await jose.generateKeyPair("ES256");
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { Authorization: `Bearer ${await idpToken(other.privateKey, ["subscribe"])}` },
    });
    assert.equal(stream.status, 401);
    assertChallenge(hub, stream.headers["www-authenticate"] as string, "invalid_token");
  });

  it("refuses the issuer's token for the role it has no keys for (publisher)", async () => {
    const result = await publish(
      hub,
      { topic: "https://example.com/idp", data: "x" },
      { token: await idpToken(signingKey, ["publish"]) },
    );
    assert.equal(result.status, 401);
    assertChallenge(hub, result.headers.get("www-authenticate"), "invalid_token");
  });

  it("mints with mintToken from a PEM private key too", async () => {
    // mintToken sets no kid: a JWK Set with one key still selects it.
    const pem = await jose.exportPKCS8(signingKey);
    const token = await mintToken({
      issuer: IDP,
      audience: hub.resourceIdentifier,
      key: pem,
      subscribe: ["https://example.com/idp"],
    });
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(stream.status, 200);
    stream.close();
  });
});

describe("JWK Set issuer whose JWK Set URL answers 200 with something else", { timeout: 30_000 }, () => {
  const bodies: Record<string, string> = {
    "/not-json": "<html>maintenance</html>",
    "/not-a-set": '{"keys":"none"}',
    "/array": "[]",
  };
  const fetches = new Map<string, number>();
  let jwksServer: Server;
  let base = "";
  let hub: TestHub;

  before(async () => {
    jwksServer = createServer((req, res) => {
      const path = req.url ?? "/";
      fetches.set(path, (fetches.get(path) ?? 0) + 1);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(bodies[path] ?? "");
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
    const config = await writeConfig("jwks-broken.json", {
      issuers: Object.keys(bodies).map((path) => ({
        issuer: `https://idp.test${path}`,
        subscriber: { jwksUri: `${base}${path}` },
      })),
    });
    hub = await startTestHub({ config });
  });
  after(async () => {
    await hub.close();
    jwksServer.closeAllConnections();
    jwksServer.close();
  });

  for (const path of Object.keys(bodies)) {
    it(`fetches ${path} once per backoff, not once per token, and refuses the tokens with 401`, async () => {
      const { privateKey } = await jose.generateKeyPair("ES256");
      const requests = 10;
      for (let i = 0; i < requests; i++) {
        const token = await signJwt(
          { alg: "ES256", typ: "at+jwt", kid: `kid-${i}` },
          accessClaims(`https://idp.test${path}`, hub.resourceIdentifier, [
            detail(["subscribe"], [{ match: "*" }]),
          ]),
          privateKey,
        );
        const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
          headers: { Authorization: `Bearer ${token}` },
        });
        assert.equal(stream.status, 401);
        assertChallenge(hub, stream.headers["www-authenticate"] as string, "invalid_token");
      }
      // A set that cannot be used is a failed fetch: retried after the backoff (5 s), which ten
      // requests on loopback stay far within, so at most one retry even on a slow machine.
      const count = fetches.get(path) ?? 0;
      assert.ok(count >= 1 && count <= 2, `${count} fetches of ${path} for ${requests} tokens`);
    });
  }
});

describe("JWK Set URL with credentials", { timeout: 30_000 }, () => {
  it("refuses to start (fetch never sends them), without repeating the password", async () => {
    const config = await writeConfig("jwks-credentials.json", {
      issuers: [
        {
          issuer: "https://idp.test",
          subscriber: { jwksUri: "http://hub-client:s3cret-password@127.0.0.1:9/jwks.json" },
        },
      ],
    });
    const outcome = await startTestHub({ config }).then(
      async (hub) => {
        await hub.close();
        return undefined;
      },
      (error: Error & { code?: string }) => error,
    );
    assert.ok(outcome !== undefined, "the hub started");
    assert.equal(outcome.code, "jwks_uri_invalid");
    assert.doesNotMatch(outcome.message, /s3cret-password/);
  });
});

describe("deeply nested payloads", { timeout: 30_000 }, () => {
  let hub: TestHub;

  before(async () => {
    hub = await startTestHub({ subscriptions: true, legacy: true });
  });
  after(() => hub.close());

  /** JSON text nesting `depth` deep: an object holding arrays in arrays (the shortest nesting). */
  function nested(depth: number): string {
    return `{"a":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`;
  }

  /** An HS256 token whose claims hold `payload` (JSON text, too deep for JSON.stringify) at PAYLOAD. */
  function signWithPayload(header: Record<string, unknown>, claims: unknown, payload: string): string {
    const part = (text: string) => Buffer.from(text).toString("base64url");
    const body = JSON.stringify(claims).replace('"PAYLOAD"', payload);
    const input = `${part(JSON.stringify({ alg: "HS256", ...header }))}.${part(body)}`;
    return `${input}.${createHmac("sha256", SECRET).update(input).digest("base64url")}`;
  }

  async function subscribeWith(token: string): Promise<Stream> {
    return openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/deep"]]), {
      headers: { Authorization: `Bearer ${token}` },
    });
  }

  const tokens: [string, (payload: string) => string][] = [
    [
      "an authorization detail's payload",
      (payload) =>
        signWithPayload(
          { typ: "at+jwt" },
          accessClaims(ISSUER, hub.resourceIdentifier, [
            detail(["subscribe"], [{ match: "*" }], { payload: "PAYLOAD" }),
          ]),
          payload,
        ),
    ],
    [
      "a legacy mercure claim's payload",
      (payload) => signWithPayload({}, { mercure: { subscribe: ["*"], payload: "PAYLOAD" } }, payload),
    ],
  ];
  for (const [what, make] of tokens) {
    it(`refuses ${what} nested thousands deep with 401 invalid_token, and keeps serving`, async () => {
      // Within max-token-bytes, but deeper than a subscription event could ever be serialized.
      const token = make(nested(5000));
      assert.ok(token.length < 16 * 1024);
      const stream = await subscribeWith(token);
      assert.equal(stream.status, 401);
      assertChallenge(hub, stream.headers["www-authenticate"] as string, "invalid_token");
      stream.close();
      const health = await fetch(`${hub.origin}/healthz`);
      assert.equal(health.status, 200);
    });

    it(`accepts ${what} as deep as max-payload-depth, and announces it`, async () => {
      const payload = nested(32);
      const token = make(payload);
      const events = "/.well-known/mercure/subscriptions/*";
      const watcher = await openStream(subscribeUrl(hub.hubUrl, [["match_urlpattern", events]]), {
        headers: {
          Authorization: `Bearer ${await hub.token({ subscribeUrlPattern: [events] })}`,
        },
      });
      assert.equal(watcher.status, 200);
      const stream = await subscribeWith(token);
      assert.equal(stream.status, 200);
      // The watcher's own arrival first, then this subscriber's.
      const [, announced] = await watcher.waitForEvents(2);
      assert.deepEqual((JSON.parse(announced!.data) as { payload: unknown }).payload, JSON.parse(payload));
      stream.close();
      watcher.close();
    });
  }
});
