import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { refreshDelay, tokenExpiresAt } from "./token-expiry.ts";

const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const jwt = (claims: unknown) => `${part({ alg: "HS256" })}.${part(claims)}.signature`;

describe("tokenExpiresAt", () => {
  it("reads exp, in milliseconds, without verifying", () => {
    assert.equal(tokenExpiresAt(jwt({ exp: 1_800_000_000, sub: "é" })), 1_800_000_000_000);
  });

  it("is undefined for anything else", () => {
    for (const token of ["opaque", jwt({}), jwt({ exp: "soon" }), "a.!!!.c", `${part({})}.${part(5)}.s`]) {
      assert.equal(tokenExpiresAt(token), undefined, token);
    }
  });
});

describe("refreshDelay", () => {
  it("renews half of the remaining life early, at most 30 seconds early", () => {
    assert.equal(refreshDelay(8000, 0), 4000);
    assert.equal(refreshDelay(3_600_000, 0), 3_570_000);
    assert.equal(refreshDelay(1000, 2000), 0, "already expired: at once");
  });
});
