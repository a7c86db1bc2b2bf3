import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type AuthorizationDetailsLimits,
  DEFAULT_AUTHORIZATION_DETAILS_LIMITS,
  MERCURE_DETAIL_TYPE,
  parseAuthorizationDetails,
} from "./authorization-details.ts";
import { InvalidTokenError } from "./errors.ts";
import { canPublish, canPublishAll, canRead, type Grants, payloadFor } from "./grants.ts";

const BASE = "https://hub.example.com/.well-known/mercure";
const LIMITS = DEFAULT_AUTHORIZATION_DETAILS_LIMITS;

function detail(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: MERCURE_DETAIL_TYPE,
    actions: ["subscribe"],
    topics: [{ match: "https://example.com/books/1" }],
    ...overrides,
  };
}

function parse(claim: unknown, limits: AuthorizationDetailsLimits = LIMITS) {
  return parseAuthorizationDetails(claim, BASE, limits);
}

function grantsOf(claim: unknown): Grants {
  return { ...parse(claim), dialect: "modern", expiresAt: undefined, issuer: undefined, subject: undefined };
}

function assertInvalid(claim: unknown, code = "authorization_details_invalid", limits = LIMITS): void {
  assert.throws(
    () => parse(claim, limits),
    (error: unknown) => {
      assert.ok(error instanceof InvalidTokenError);
      assert.equal(error.code, code);
      assert.ok(error.reason.startsWith(code));
      return true;
    },
  );
}

describe("parseAuthorizationDetails: valid details", () => {
  it("grants nothing when the claim is absent", () => {
    const result = parse(undefined);
    assert.equal(result.publish.length, 0);
    assert.equal(result.subscribe.length, 0);
  });

  it("grants nothing for an empty array", () => {
    const result = parse([]);
    assert.equal(result.publish.length, 0);
    assert.equal(result.subscribe.length, 0);
  });

  it("turns a subscribe detail into a subscribe grant", () => {
    const grants = grantsOf([detail()]);
    assert.equal(grants.publish.length, 0);
    assert.equal(grants.subscribe.length, 1);
    assert.equal(grants.subscribe[0]?.payload, undefined);
    assert.ok(canRead(grants, ["https://example.com/books/1"]));
    assert.ok(!canRead(grants, ["https://example.com/books/2"]));
  });

  it("turns a publish detail into publish matchers", () => {
    const grants = grantsOf([detail({ actions: ["publish"] })]);
    assert.equal(grants.subscribe.length, 0);
    assert.ok(canPublish(grants, "https://example.com/books/1"));
    assert.ok(!canPublish(grants, "https://example.com/books/2"));
  });

  it("grants both actions from one detail", () => {
    const grants = grantsOf([detail({ actions: ["publish", "subscribe"] })]);
    assert.ok(canPublish(grants, "https://example.com/books/1"));
    assert.ok(canRead(grants, ["https://example.com/books/1"]));
  });

  it("defaults match_type to exact: no URL resolution, byte for byte", () => {
    const grants = grantsOf([detail({ topics: [{ match: "/books/:id" }] })]);
    assert.ok(canRead(grants, ["/books/:id"]));
    assert.ok(!canRead(grants, ["/books/1"]));
    assert.ok(!canRead(grants, ["https://hub.example.com/books/:id"]));
  });

  it("accepts an explicit exact match_type", () => {
    const grants = grantsOf([detail({ topics: [{ match: "urn:a", match_type: "exact" }] })]);
    assert.ok(canRead(grants, ["urn:a"]));
    assert.ok(!canRead(grants, ["urn:A"]));
  });

  it("compiles urlpattern matchers, resolving relative patterns against the hub URL", () => {
    const grants = grantsOf([
      detail({
        topics: [
          { match: "https://example.com/books/:id", match_type: "urlpattern" },
          { match: "/.well-known/mercure/subscriptions/:rest*", match_type: "urlpattern" },
        ],
      }),
    ]);
    assert.ok(canRead(grants, ["https://example.com/books/7"]));
    assert.ok(!canRead(grants, ["https://example.com/authors/7"]));
    assert.ok(canRead(grants, ["https://hub.example.com/.well-known/mercure/subscriptions/a/b"]));
  });

  it("treats * as the wildcard whatever the match_type", () => {
    for (const topic of [
      { match: "*" },
      { match: "*", match_type: "exact" },
      { match: "*", match_type: "urlpattern" },
    ]) {
      const grants = grantsOf([detail({ topics: [topic] })]);
      assert.ok(canRead(grants, ["anything at all"]));
    }
  });

  it("ignores unknown actions: they grant nothing and are not an error", () => {
    const grants = grantsOf([detail({ actions: ["read", "Publish"] })]);
    assert.equal(grants.publish.length, 0);
    assert.equal(grants.subscribe.length, 0);
    const mixed = grantsOf([detail({ actions: ["launch", "subscribe"] })]);
    assert.equal(mixed.subscribe.length, 1);
  });

  it("ignores details of other types, however they look", () => {
    const grants = grantsOf([
      { type: "payment_initiation", actions: 42, topics: "nope" },
      { type: "https://mercure.rocks/authorization-detail/", actions: ["publish"], topics: [{ match: "*" }] },
      { type: "HTTPS://MERCURE.ROCKS/AUTHORIZATION-DETAIL", actions: ["publish"], topics: [{ match: "*" }] },
      detail(),
    ]);
    assert.equal(grants.publish.length, 0);
    assert.equal(grants.subscribe.length, 1);
  });

  it("ignores unknown members of details and topic objects", () => {
    const grants = grantsOf([
      detail({ locations: ["https://hub.example.com"], topics: [{ match: "urn:x", note: "hi" }] }),
    ]);
    assert.ok(canRead(grants, ["urn:x"]));
  });

  it("keeps the payload object and freezes it", () => {
    const grants = grantsOf([detail({ payload: { tenant: "acme", nested: { a: [1] } } })]);
    const payload = grants.subscribe[0]?.payload as { tenant: string; nested: { a: number[] } };
    assert.deepEqual(payload, { tenant: "acme", nested: { a: [1] } });
    assert.ok(
      Object.isFrozen(payload) && Object.isFrozen(payload.nested) && Object.isFrozen(payload.nested.a),
    );
  });

  it("accepts a payload on a publish-only detail", () => {
    const grants = grantsOf([detail({ actions: ["publish"], payload: {} })]);
    assert.equal(grants.publish.length, 1);
  });
});

describe("parseAuthorizationDetails: malformed details invalidate the token", () => {
  const cases: [string, unknown][] = [
    ["a claim that is not an array", { type: MERCURE_DETAIL_TYPE }],
    ["a string claim", "publish"],
    ["a null claim", null],
    ["an entry that is not an object", ["detail"]],
    ["a null entry", [null]],
    ["an array entry", [[]]],
    ["an entry without type", [{ actions: ["publish"], topics: [{ match: "*" }] }]],
    ["an entry whose type is not a string", [{ type: 1 }]],
    ["missing actions", [detail({ actions: undefined })]],
    ["actions that are not an array", [detail({ actions: "subscribe" })]],
    ["empty actions", [detail({ actions: [] })]],
    ["a non-string action", [detail({ actions: ["subscribe", 1] })]],
    ["a null action", [detail({ actions: [null] })]],
    ["missing topics", [detail({ topics: undefined })]],
    ["topics that are not an array", [detail({ topics: { match: "*" } })]],
    ["empty topics", [detail({ topics: [] })]],
    ["a topic that is a string", [detail({ topics: ["https://example.com/books/1"] })]],
    ["a null topic", [detail({ topics: [null] })]],
    ["a topic without match", [detail({ topics: [{ match_type: "exact" }] })]],
    ["a non-string match", [detail({ topics: [{ match: 1 }] })]],
    ["an unsupported match_type", [detail({ topics: [{ match: "urn:a", match_type: "regex" }] })]],
    ["a match_type in the wrong case", [detail({ topics: [{ match: "urn:a", match_type: "URLPattern" }] })]],
    ["a null match_type", [detail({ topics: [{ match: "urn:a", match_type: null }] })]],
    [
      "an invalid URL pattern",
      [detail({ topics: [{ match: "https://example.com/(", match_type: "urlpattern" }] })],
    ],
    ["a match with a control character", [detail({ topics: [{ match: "urn:a\nb" }] })]],
    ["a payload that is an array", [detail({ payload: ["x"] })]],
    ["a payload that is a string", [detail({ payload: "x" })]],
    ["a null payload", [detail({ payload: null })]],
  ];
  for (const [name, claim] of cases) {
    it(`refuses ${name}`, () => assertInvalid(claim));
  }

  it("refuses the whole token when one detail among valid ones is malformed", () => {
    assertInvalid([detail({ actions: ["publish"], topics: [{ match: "*" }] }), detail({ actions: [] })]);
  });
});

describe("parseAuthorizationDetails: limits", () => {
  const limits: AuthorizationDetailsLimits = {
    maxAuthorizationDetails: 3,
    maxTopicsPerDetail: 4,
    maxPatternLength: 30,
    maxPayloadDepth: 3,
  };

  it("accepts exactly maxAuthorizationDetails Mercure details and refuses one more", () => {
    assert.equal(parse([detail(), detail(), detail()], limits).subscribe.length, 3);
    assertInvalid([detail(), detail(), detail(), detail()], "authorization_details_limit", limits);
  });

  it("does not count details of other types against maxAuthorizationDetails", () => {
    const other = { type: "other" };
    assert.equal(parse([other, detail(), other, detail(), detail(), other], limits).subscribe.length, 3);
  });

  it("accepts exactly maxTopicsPerDetail topics and refuses one more", () => {
    const topics = (n: number) => Array.from({ length: n }, (_, i) => ({ match: `urn:${i}` }));
    assert.equal(parse([detail({ topics: topics(4) })], limits).subscribe[0]?.matchers.length, 4);
    assertInvalid([detail({ topics: topics(5) })], "authorization_details_limit", limits);
  });

  it("accepts a pattern of exactly maxPatternLength and refuses a longer one", () => {
    assert.equal(parse([detail({ topics: [{ match: "x".repeat(30) }] })], limits).subscribe.length, 1);
    assertInvalid([detail({ topics: [{ match: "x".repeat(31) }] })], "authorization_details_limit", limits);
  });

  it("accepts a payload exactly maxPayloadDepth deep and refuses a deeper one", () => {
    assert.deepEqual(parse([detail({ payload: { a: [{}] } })], limits).subscribe[0]?.payload, { a: [{}] });
    assert.equal(parse([detail({ payload: { a: [1, "x", null] } })], limits).subscribe.length, 1);
    assert.equal(parse([detail({ payload: { a: [{ b: 1 }] } })], limits).subscribe.length, 1);
    assertInvalid([detail({ payload: { a: [{ b: {} }] } })], "authorization_details_limit", limits);
    assertInvalid([detail({ payload: { a: [[[]]] } })], "authorization_details_limit", limits);
  });

  it("has the documented defaults", () => {
    assert.deepEqual(
      { ...DEFAULT_AUTHORIZATION_DETAILS_LIMITS },
      {
        maxAuthorizationDetails: 64,
        maxTopicsPerDetail: 256,
        maxPatternLength: 2048,
        maxPayloadDepth: 32,
      },
    );
  });
});

describe("grants", () => {
  it("canPublishAll needs a publish grant on every topic", () => {
    const grants = grantsOf([
      detail({ actions: ["publish"], topics: [{ match: "urn:a" }, { match: "urn:b" }] }),
    ]);
    assert.ok(canPublishAll(grants, ["urn:a", "urn:b"]));
    assert.ok(!canPublishAll(grants, ["urn:a", "urn:c"]));
  });

  it("canRead needs a subscribe grant on at least one topic; anonymous reads nothing private", () => {
    const grants = grantsOf([
      detail({ topics: [{ match: "https://example.com/users/42/*", match_type: "urlpattern" }] }),
    ]);
    assert.ok(canRead(grants, ["https://example.com/books/1", "https://example.com/users/42/books/1"]));
    assert.ok(!canRead(grants, ["https://example.com/books/1"]));
    assert.ok(!canRead(grants, []));
    assert.ok(!canRead(undefined, ["https://example.com/books/1"]));
  });

  it("publish grants do not allow reading and subscribe grants do not allow publishing", () => {
    const grants = grantsOf([
      detail({ actions: ["publish"], topics: [{ match: "urn:p" }] }),
      detail({ actions: ["subscribe"], topics: [{ match: "urn:s" }] }),
    ]);
    assert.ok(!canRead(grants, ["urn:p"]));
    assert.ok(!canPublish(grants, "urn:s"));
  });

  it("payloadFor picks the first subscribe detail matching the subscription's matcher string", () => {
    const grants = grantsOf([
      detail({ topics: [{ match: "https://example.com/foo" }], payload: { custom1: 1 } }),
      detail({ actions: ["publish"], topics: [{ match: "*" }], payload: { publisherOnly: true } }),
      detail({
        topics: [{ match: "https://example.com/bar/:id", match_type: "urlpattern" }],
        payload: { custom2: 2 },
      }),
      detail({ topics: [{ match: "*" }], payload: { custom3: 3 } }),
    ]);
    assert.deepEqual(payloadFor(grants, "https://example.com/foo"), { custom1: 1 });
    assert.deepEqual(payloadFor(grants, "https://example.com/bar/:id"), { custom2: 2 });
    assert.deepEqual(payloadFor(grants, "https://example.com/bar/7"), { custom2: 2 });
    assert.deepEqual(payloadFor(grants, "https://example.com/baz"), { custom3: 3 });
    assert.equal(payloadFor(undefined, "https://example.com/foo"), undefined);
  });

  it("payloadFor returns undefined when the first matching detail has no payload", () => {
    const grants = grantsOf([
      detail({ topics: [{ match: "urn:a" }] }),
      detail({ topics: [{ match: "*" }], payload: {} }),
    ]);
    assert.equal(payloadFor(grants, "urn:a"), undefined);
    assert.deepEqual(payloadFor(grants, "urn:b"), {});
  });
});
