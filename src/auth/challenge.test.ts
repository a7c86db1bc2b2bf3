import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bearerChallenge } from "./challenge.ts";

const METADATA = "https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure";

describe("bearerChallenge", () => {
  it("has no error for a missing token", () => {
    assert.equal(bearerChallenge({ resourceMetadata: METADATA }), `Bearer resource_metadata="${METADATA}"`);
  });

  it("carries the error code", () => {
    for (const error of ["invalid_request", "invalid_token", "insufficient_scope"] as const) {
      assert.equal(
        bearerChallenge({ error, resourceMetadata: METADATA }),
        `Bearer resource_metadata="${METADATA}", error="${error}"`,
      );
    }
  });

  it("escapes quotes and backslashes", () => {
    assert.equal(
      bearerChallenge({ resourceMetadata: 'https://h/a"b\\c' }),
      'Bearer resource_metadata="https://h/a\\"b\\\\c"',
    );
  });

  it("refuses control characters, which would split the header", () => {
    assert.throws(() => bearerChallenge({ resourceMetadata: "https://h/\r\nSet-Cookie: x=y" }), RangeError);
  });
});
