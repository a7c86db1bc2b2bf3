import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { findToken, readCookie } from "./token-source.ts";

const JWS = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
const OTHER_JWS = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ5In0.b3RoZXI";
const COOKIE = "__Secure-mercure_access_token";

describe("findToken", () => {
  it("finds nothing when there is neither header nor cookie", () => {
    assert.deepEqual(findToken(undefined, undefined, COOKIE), { kind: "none" });
    assert.deepEqual(findToken([], undefined, COOKIE), { kind: "none" });
    assert.deepEqual(findToken(undefined, "theme=dark; lang=fr", COOKIE), { kind: "none" });
  });

  it("reads a Bearer token from the Authorization header", () => {
    assert.deepEqual(findToken([`Bearer ${JWS}`], undefined, COOKIE), {
      kind: "token",
      token: JWS,
      via: "header",
    });
  });

  it("matches the scheme case-insensitively", () => {
    for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
      assert.deepEqual(findToken([`${scheme} ${JWS}`], undefined, COOKIE), {
        kind: "token",
        token: JWS,
        via: "header",
      });
    }
  });

  it("tolerates several spaces after the scheme", () => {
    assert.deepEqual(findToken([`Bearer   ${JWS}`], undefined, COOKIE), {
      kind: "token",
      token: JWS,
      via: "header",
    });
  });

  it("accepts an empty signature part so that alg none is refused by the verifier, not as a bad request", () => {
    const unsecured = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
    assert.deepEqual(findToken([`Bearer ${unsecured}`], undefined, COOKIE), {
      kind: "token",
      token: unsecured,
      via: "header",
    });
  });

  it("prefers the header over the cookie", () => {
    assert.deepEqual(findToken([`Bearer ${JWS}`], `${COOKIE}=${OTHER_JWS}`, COOKIE), {
      kind: "token",
      token: JWS,
      via: "header",
    });
  });

  it("ignores even a bad cookie when the header is present", () => {
    assert.deepEqual(findToken([`Bearer ${JWS}`], `${COOKIE}=garbage`, COOKIE), {
      kind: "token",
      token: JWS,
      via: "header",
    });
  });

  it("does not fall back to the cookie when the header is malformed", () => {
    assert.equal(findToken(["Basic dXNlcjpwYXNz"], `${COOKIE}=${JWS}`, COOKIE).kind, "malformed");
  });

  it("refuses two Authorization headers, even two good ones", () => {
    const result = findToken([`Bearer ${JWS}`, `Bearer ${JWS}`], undefined, COOKIE);
    assert.equal(result.kind, "malformed");
  });

  for (const [name, value] of [
    ["a non-Bearer scheme", "Basic dXNlcjpwYXNz"],
    ["a DPoP scheme", `DPoP ${JWS}`],
    ["Bearer without a token", "Bearer"],
    ["Bearer followed by spaces only", "Bearer   "],
    ["an empty header", ""],
    ["a token that is not a JWS", "Bearer abc"],
    ["a token with two parts", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0"],
    ["a token with four parts", `Bearer ${JWS}.xyz`],
    ["a token with padding", `Bearer ${JWS}==`],
    ["a token with standard base64 characters", "Bearer ab+c.de/f.ghi"],
    ["a token with an empty header part", "Bearer .eyJzdWIiOiJ4In0.c2ln"],
    ["a token followed by more words", `Bearer ${JWS} extra`],
    ["a tab instead of a space", `Bearer\t${JWS}`],
  ] as const) {
    it(`refuses ${name} as malformed`, () => {
      const result = findToken([value], undefined, COOKIE);
      assert.equal(result.kind, "malformed");
      assert.ok(result.kind === "malformed" && result.reason.length > 0);
    });
  }

  it("reads the token from the cookie when there is no Authorization header", () => {
    assert.deepEqual(findToken(undefined, `theme=dark; ${COOKIE}=${JWS}; lang=fr`, COOKIE), {
      kind: "token",
      token: JWS,
      via: "cookie",
    });
    assert.deepEqual(findToken([], `${COOKIE}=${JWS}`, COOKIE), { kind: "token", token: JWS, via: "cookie" });
  });

  it("uses the configured cookie name, case-sensitively", () => {
    assert.deepEqual(findToken(undefined, `mercure=${JWS}`, "mercure"), {
      kind: "token",
      token: JWS,
      via: "cookie",
    });
    assert.deepEqual(findToken(undefined, `MERCURE=${JWS}`, "mercure"), { kind: "none" });
    assert.deepEqual(findToken(undefined, `${COOKIE}=${JWS}`, "mercure"), { kind: "none" });
  });

  it("takes the first of two cookies with the name", () => {
    assert.deepEqual(findToken(undefined, `${COOKIE}=${JWS}; ${COOKIE}=${OTHER_JWS}`, COOKIE), {
      kind: "token",
      token: JWS,
      via: "cookie",
    });
  });

  it("unwraps a quoted cookie value", () => {
    assert.deepEqual(findToken(undefined, `${COOKIE}="${JWS}"`, COOKIE), {
      kind: "token",
      token: JWS,
      via: "cookie",
    });
  });

  it("treats an empty cookie as no token", () => {
    assert.deepEqual(findToken(undefined, `${COOKIE}=`, COOKIE), { kind: "none" });
    assert.deepEqual(findToken(undefined, `${COOKIE}=""`, COOKIE), { kind: "none" });
  });

  it("passes on a cookie that does not hold a JWS, for the verifier to refuse as invalid_token", () => {
    assert.deepEqual(findToken(undefined, `${COOKIE}=deleted`, COOKIE), {
      kind: "token",
      token: "deleted",
      via: "cookie",
    });
  });
});

describe("readCookie", () => {
  it("parses RFC 6265 cookie strings leniently", () => {
    assert.equal(readCookie("a=1; b=2", "b"), "2");
    assert.equal(readCookie("a=1;b=2", "b"), "2");
    assert.equal(readCookie("  a = 1 ;  b=2  ", "a"), "1");
    assert.equal(readCookie("flag; a=1", "a"), "1");
    assert.equal(readCookie("a=x=y", "a"), "x=y");
    assert.equal(readCookie("a=1", "b"), undefined);
    assert.equal(readCookie("", "a"), undefined);
    assert.equal(readCookie('a="', "a"), '"');
  });
});

describe("findToken: the legacy dialect", () => {
  const LEGACY_ON = { enabled: true, queryTokens: [] };

  it("reads the authorization query parameter after the header", () => {
    assert.deepEqual(findToken(undefined, undefined, COOKIE, { enabled: true, queryTokens: [JWS] }), {
      kind: "token",
      token: JWS,
      via: "query",
    });
    assert.deepEqual(
      findToken([`Bearer ${OTHER_JWS}`], undefined, COOKIE, { enabled: true, queryTokens: [JWS] }),
      {
        kind: "token",
        token: OTHER_JWS,
        via: "header",
      },
    );
  });

  it("prefers the query parameter to the cookies", () => {
    const cookies = `${COOKIE}=${OTHER_JWS}; mercureAuthorization=${OTHER_JWS}`;
    assert.deepEqual(findToken(undefined, cookies, COOKIE, { enabled: true, queryTokens: [JWS] }), {
      kind: "token",
      token: JWS,
      via: "query",
    });
  });

  it("refuses two authorization parameters or one that is not a JWS", () => {
    for (const queryTokens of [[JWS, JWS], ["not-a-token"], [""]]) {
      const found = findToken(undefined, undefined, COOKIE, { enabled: true, queryTokens });
      assert.equal(found.kind, "malformed", JSON.stringify(queryTokens));
    }
  });

  it("reads the mercureAuthorization cookie after the configured one", () => {
    assert.deepEqual(findToken(undefined, `mercureAuthorization=${JWS}`, COOKIE, LEGACY_ON), {
      kind: "token",
      token: JWS,
      via: "legacy-cookie",
    });
    assert.deepEqual(
      findToken(undefined, `mercureAuthorization=${JWS}; ${COOKIE}=${OTHER_JWS}`, COOKIE, LEGACY_ON),
      { kind: "token", token: OTHER_JWS, via: "cookie" },
    );
  });

  it("refuses legacy presentations when the dialect is off, naming what to use", () => {
    const query = findToken([`Bearer ${JWS}`], undefined, COOKIE, { enabled: false, queryTokens: [JWS] });
    assert.equal(query.kind, "legacy");
    assert.equal(query.kind === "legacy" && query.code, "legacy_authorization_parameter");
    assert.match(query.kind === "legacy" ? query.reason : "", /Authorization: Bearer.*--legacy/);
    const cookie = findToken(undefined, `mercureAuthorization=${JWS}`, COOKIE);
    assert.equal(cookie.kind === "legacy" && cookie.code, "legacy_cookie");
    assert.match(cookie.kind === "legacy" ? cookie.reason : "", new RegExp(`${COOKIE}.*--legacy`));
    // The modern cookie next to a stale legacy one is simply used.
    assert.deepEqual(findToken(undefined, `mercureAuthorization=${JWS}; ${COOKIE}=${OTHER_JWS}`, COOKIE), {
      kind: "token",
      token: OTHER_JWS,
      via: "cookie",
    });
  });
});
