import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as jose from "jose";
import { nonCanonicalSpellings } from "../../test/helpers/base64url-spelling.ts";
import { MERCURE_DETAIL_TYPE } from "./authorization-details.ts";
import { canPublish, canRead, payloadFor } from "./grants.ts";
import {
  createVerifier,
  DEFAULT_VERIFIER_LIMITS,
  InvalidTokenError,
  type IssuerConfig,
  type TokenVerifier,
  type VerifierOptions,
} from "./verifier.ts";

const RESOURCE = "https://hub.example.com/.well-known/mercure";
const ISSUER = "https://issuer.example.com";
const OTHER_ISSUER = "https://other.example.com";
const NOW = 1_767_225_300_000;
const NOW_S = NOW / 1000;
const ISSUER_SECRET = "an-issuer-secret-of-32-bytes!!!!";
const OTHER_SECRET = "another-issuer-secret-of-32-byte";
const LEGACY_SECRET = "!ChangeMe!";

function options(issuers: IssuerConfig[], extra: Partial<VerifierOptions> = {}): VerifierOptions {
  return {
    issuers,
    resourceIdentifier: RESOURCE,
    baseUrl: RESOURCE,
    limits: { ...DEFAULT_VERIFIER_LIMITS },
    now: () => NOW,
    ...extra,
  };
}

/** A hub with one modern issuer and the old hub's single (short) secret for legacy tokens. */
function legacyVerifier(): Promise<TokenVerifier> {
  const legacyKey = { key: LEGACY_SECRET, allowShortSecret: true };
  return createVerifier(
    options([{ issuer: ISSUER, publisher: { key: ISSUER_SECRET }, subscriber: { key: ISSUER_SECRET } }], {
      legacy: { keys: { publisher: legacyKey, subscriber: legacyKey } },
    }),
  );
}

function sign(
  payload: Record<string, unknown>,
  secret: string = LEGACY_SECRET,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new jose.SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", ...header })
    .sign(new TextEncoder().encode(secret));
}

async function assertRejected(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof InvalidTokenError, String(error));
    assert.equal(error.code, code, error.reason);
    return true;
  });
}

describe("verify: legacy tokens", () => {
  it("accepts the old hub's token: a mercure claim, no typ, aud, iss or exp", async () => {
    const verifier = await legacyVerifier();
    const token = await sign({ mercure: { publish: ["*"], subscribe: ["https://example.com/books/{id}"] } });
    const grants = await verifier.verify(token, "publisher");
    assert.equal(grants.dialect, "legacy");
    assert.equal(grants.expiresAt, undefined);
    assert.ok(canPublish(grants, "https://example.com/anything"));
    assert.ok(canRead(grants, ["https://example.com/books/1"]));
    assert.ok(!canRead(grants, ["https://example.com/books/1/reviews"]));
    assert.ok(!canRead(grants, ["https://example.com/authors/1"]));
  });

  it("accepts any typ", async () => {
    const verifier = await legacyVerifier();
    for (const typ of ["JWT", "at+jwt", "whatever"]) {
      const token = await sign({ mercure: { subscribe: ["a"] } }, LEGACY_SECRET, { typ });
      assert.ok(canRead(await verifier.verify(token, "subscriber"), ["a"]), typ);
    }
  });

  it("reads the namespaced claim, which wins over mercure", async () => {
    const verifier = await legacyVerifier();
    const token = await sign({
      "https://mercure.rocks/": { subscribe: ["b"] },
      mercure: { subscribe: ["a"] },
    });
    const grants = await verifier.verify(token, "subscriber");
    assert.ok(canRead(grants, ["b"]));
    assert.ok(!canRead(grants, ["a"]));
  });

  it("gives the claim's payload to every subscription", async () => {
    const verifier = await legacyVerifier();
    const payload = { user: "https://example.com/users/1", roles: ["admin"] };
    const token = await sign({ mercure: { subscribe: ["a"], payload } });
    const grants = await verifier.verify(token, "subscriber");
    assert.deepEqual(payloadFor(grants, "a"), payload);
    assert.deepEqual(payloadFor(grants, "https://example.com/{x}"), payload);
  });

  it("enforces exp and nbf when present", async () => {
    const verifier = await legacyVerifier();
    await assertRejected(
      verifier.verify(await sign({ mercure: {}, exp: NOW_S - 60 }), "subscriber"),
      "verification_failed",
    );
    await assertRejected(
      verifier.verify(await sign({ mercure: {}, nbf: NOW_S + 60 }), "subscriber"),
      "verification_failed",
    );
    const grants = await verifier.verify(await sign({ mercure: {}, exp: NOW_S + 60 }), "subscriber");
    assert.equal(grants.expiresAt, (NOW_S + 60) * 1000);
  });

  it("refuses a legacy token signed with another key, or unsigned", async () => {
    const verifier = await legacyVerifier();
    await assertRejected(
      verifier.verify(await sign({ mercure: {} }, "not-the-configured-secret"), "subscriber"),
      "verification_failed",
    );
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const unsigned = `${part({ alg: "none" })}.${part({ mercure: { publish: ["*"] } })}.`;
    await assertRejected(verifier.verify(unsigned, "publisher"), "verification_failed");
  });

  it("refuses a legacy token whose signature is spelled non-canonically in base64url", async () => {
    const verifier = await legacyVerifier();
    const token = await sign({ mercure: { publish: ["*"] } });
    await verifier.verify(token, "publisher");
    const [header, payload, signature] = token.split(".") as [string, string, string];
    for (const spelling of nonCanonicalSpellings(signature)) {
      await assertRejected(
        verifier.verify(`${header}.${payload}.${spelling}`, "publisher"),
        "token_noncanonical",
      );
    }
  });

  it("verifies a legacy token naming a configured issuer with that issuer's key only", async () => {
    const verifier = await legacyVerifier();
    const good = await sign({ iss: ISSUER, mercure: { subscribe: ["a"] } }, ISSUER_SECRET);
    assert.ok(canRead(await verifier.verify(good, "subscriber"), ["a"]));
    const bad = await sign({ iss: ISSUER, mercure: { subscribe: ["a"] } }, LEGACY_SECRET);
    await assertRejected(verifier.verify(bad, "subscriber"), "verification_failed");
  });

  it("uses the legacy keys for a legacy token naming an unknown issuer", async () => {
    const verifier = await legacyVerifier();
    const token = await sign({ iss: "https://somewhere.else", mercure: { subscribe: ["a"] } });
    assert.ok(canRead(await verifier.verify(token, "subscriber"), ["a"]));
  });

  it("holds a token with authorization_details to draft-08 even on a legacy hub", async () => {
    const verifier = await legacyVerifier();
    const details = [{ type: MERCURE_DETAIL_TYPE, actions: ["subscribe"], topics: [{ match: "a" }] }];
    // No typ, aud or exp: a legacy token would pass, a draft-08 one must not.
    const relaxed = await sign({ iss: ISSUER, authorization_details: details }, ISSUER_SECRET);
    await assertRejected(verifier.verify(relaxed, "subscriber"), "verification_failed");
    const strict = await sign(
      { iss: ISSUER, aud: RESOURCE, exp: NOW_S + 60, authorization_details: details },
      ISSUER_SECRET,
      { typ: "at+jwt" },
    );
    const grants = await verifier.verify(strict, "subscriber");
    assert.equal(grants.dialect, "modern");
    assert.ok(canRead(grants, ["a"]));
  });

  it("refuses malformed claims", async () => {
    const verifier = await legacyVerifier();
    for (const mercure of [
      "publish",
      ["*"],
      { publish: "*" },
      { subscribe: [1] },
      { subscribe: ["https://example.com/{unclosed"] },
      { subscribe: ["a\u0000b"] },
      { publish: Array.from({ length: DEFAULT_VERIFIER_LIMITS.maxTopicsPerDetail + 1 }, (_, i) => `t${i}`) },
    ]) {
      await assertRejected(verifier.verify(await sign({ mercure }), "publisher"), "legacy_claim_invalid");
    }
  });

  it("grants nothing without the claim", async () => {
    const verifier = await legacyVerifier();
    const grants = await verifier.verify(await sign({ sub: "x" }), "publisher");
    assert.equal(grants.dialect, "legacy");
    assert.ok(!canPublish(grants, "a"));
    assert.ok(!canRead(grants, ["a"]));
  });

  it("uses the only configured issuer's keys when no legacy keys are given", async () => {
    const verifier = await createVerifier(
      options([{ issuer: ISSUER, subscriber: { key: ISSUER_SECRET } }], { legacy: {} }),
    );
    const token = await sign({ mercure: { subscribe: ["a"] } }, ISSUER_SECRET);
    assert.ok(canRead(await verifier.verify(token, "subscriber"), ["a"]));
  });

  it("needs an iss among several issuers when no legacy keys are given", async () => {
    const verifier = await createVerifier(
      options(
        [
          { issuer: ISSUER, subscriber: { key: ISSUER_SECRET } },
          { issuer: OTHER_ISSUER, subscriber: { key: OTHER_SECRET } },
        ],
        { legacy: {} },
      ),
    );
    await assertRejected(
      verifier.verify(await sign({ mercure: { subscribe: ["a"] } }, ISSUER_SECRET), "subscriber"),
      "issuer_unknown",
    );
    const named = await sign({ iss: OTHER_ISSUER, mercure: { subscribe: ["a"] } }, OTHER_SECRET);
    assert.ok(canRead(await verifier.verify(named, "subscriber"), ["a"]));
  });

  it("refuses legacy tokens when the legacy dialect is off", async () => {
    const verifier = await createVerifier(options([{ issuer: ISSUER, subscriber: { key: ISSUER_SECRET } }]));
    await assertRejected(
      verifier.verify(await sign({ mercure: { subscribe: ["a"] } }, ISSUER_SECRET), "subscriber"),
      "issuer_missing",
    );
    await assertRejected(
      verifier.verify(
        await sign({ iss: ISSUER, mercure: { subscribe: ["a"] } }, ISSUER_SECRET),
        "subscriber",
      ),
      "verification_failed",
    );
  });
});
