import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as jose from "jose";
import { MERCURE_DETAIL_TYPE } from "./authorization-details.ts";
import { ConfigError } from "./errors.ts";
import { canPublish, canRead, payloadFor } from "./grants.ts";
import { mintToken } from "./mint.ts";
import { createVerifier, DEFAULT_VERIFIER_LIMITS, type IssuerConfig } from "./verifier.ts";

const RESOURCE = "https://hub.example.com/.well-known/mercure";
const ISSUER = "https://app.example.com";
const SECRET = "a-publisher-secret-of-32-bytes!!";
const NOW = 1_767_225_300_000;

// A throwaway self-signed P-256 test certificate and its private key (not used anywhere else).
const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBmTCCAT+gAwIBAgIUNqQiOfeI8nT0CKNwPdaVIRCLuekwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXcXVpY2tzaWx2ZXIgdGVzdCBpc3N1ZXIwHhcNMjYxMTIzMTIx
OTMzWhcNMzYxMTIwMTIxOTMzWjAiMSAwHgYDVQQDDBdxdWlja3NpbHZlciB0ZXN0
IGlzc3VlcjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABFZLUYrqfQSz41P4/588
jpidS+pDi9dNcRdynQQHOQq77vCjZebUnRYTqHG9GAqAhI1AN2J/SWVO7GOXj2Y9
7rqjUzBRMB0GA1UdDgQWBBR8qE90UnVFIgJcLVY2w3LoKVtOdTAfBgNVHSMEGDAW
gBR8qE90UnVFIgJcLVY2w3LoKVtOdTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49
BAMCA0gAMEUCIQCEzNhEkLP9R5RBXZa5NQuBFtQynjghdYedS9nPW+ojbwIgZ+B+
mFvBXW4AjWQn6kWTdyBPOhoBnQn8nf5st569zLc=
-----END CERTIFICATE-----
`;
const CERTIFICATE_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8UOnBZfru2HwOX7B
EN5io26PVehJ72X5nT16yxX/r9mhRANCAARWS1GK6n0Es+NT+P+fPI6YnUvqQ4vX
TXEXcp0EBzkKu+7wo2Xm1J0WE6hxvRgKgISNQDdif0llTuxjl49mPe66
-----END PRIVATE KEY-----
`;

function verifierFor(issuer: IssuerConfig) {
  return createVerifier({
    issuers: [issuer],
    resourceIdentifier: RESOURCE,
    baseUrl: RESOURCE,
    limits: { ...DEFAULT_VERIFIER_LIMITS },
    now: () => NOW,
  });
}

describe("mintToken", () => {
  it("mints a draft-08 access token with every RFC 9068 claim", async () => {
    const token = await mintToken({
      issuer: ISSUER,
      audience: RESOURCE,
      key: SECRET,
      publish: ["https://example.com/books/1"],
      publishUrlPattern: ["https://example.com/authors/:id"],
      subscribe: ["https://example.com/books/1"],
      subscribeUrlPattern: ["https://example.com/books/:id"],
      payload: { tenant: "acme" },
      now: () => NOW,
    });
    assert.deepEqual(jose.decodeProtectedHeader(token), { alg: "HS256", typ: "at+jwt" });
    const claims = jose.decodeJwt(token);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.aud, RESOURCE);
    assert.equal(claims["client_id"], ISSUER);
    assert.match(String(claims.sub), /^urn:uuid:[0-9a-f-]{36}$/);
    assert.match(String(claims.jti), /^urn:uuid:[0-9a-f-]{36}$/);
    assert.equal(claims.iat, NOW / 1000);
    assert.equal(claims.exp, NOW / 1000 + 3600);
    assert.deepEqual(claims["authorization_details"], [
      {
        type: MERCURE_DETAIL_TYPE,
        actions: ["publish"],
        topics: [
          { match: "https://example.com/books/1" },
          { match: "https://example.com/authors/:id", match_type: "urlpattern" },
        ],
      },
      {
        type: MERCURE_DETAIL_TYPE,
        actions: ["subscribe"],
        topics: [
          { match: "https://example.com/books/1" },
          { match: "https://example.com/books/:id", match_type: "urlpattern" },
        ],
        payload: { tenant: "acme" },
      },
    ]);
  });

  it("round-trips through the verifier with an HMAC secret", async () => {
    const verifier = await verifierFor({ issuer: ISSUER, publisher: { key: SECRET } });
    const token = await mintToken({
      issuer: ISSUER,
      audience: [RESOURCE, "https://other.example.com"],
      key: SECRET,
      publishUrlPattern: ["https://example.com/books/:id"],
      subject: "urn:example:alice",
      ttlSeconds: 60,
      now: () => NOW,
    });
    const grants = await verifier.verify(token, "publisher");
    assert.ok(canPublish(grants, "https://example.com/books/42"));
    assert.ok(!canPublish(grants, "https://example.com/authors/42"));
    assert.equal(grants.subject, "urn:example:alice");
    assert.equal(grants.expiresAt, NOW + 60_000);
  });

  for (const alg of ["EdDSA", "ES256", "RS256"]) {
    it(`round-trips with a PKCS#8 ${alg} private key, inferring alg`, async () => {
      const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
      const verifier = await verifierFor({
        issuer: ISSUER,
        subscriber: { key: await jose.exportSPKI(publicKey) },
      });
      const token = await mintToken({
        issuer: ISSUER,
        audience: RESOURCE,
        key: await jose.exportPKCS8(privateKey),
        subscribe: ["urn:a"],
        payload: { n: 1 },
        now: () => NOW,
      });
      assert.equal(jose.decodeProtectedHeader(token).alg, alg);
      const grants = await verifier.verify(token, "subscriber");
      assert.ok(canRead(grants, ["urn:a"]));
      assert.deepEqual(payloadFor(grants, "urn:a"), { n: 1 });
    });
  }

  it("round-trips with an X.509 certificate configured on the hub", async () => {
    const verifier = await verifierFor({ issuer: ISSUER, subscriber: { key: CERTIFICATE } });
    const token = await mintToken({
      issuer: ISSUER,
      audience: RESOURCE,
      key: CERTIFICATE_KEY,
      subscribe: ["urn:a"],
      now: () => NOW,
    });
    assert.equal(jose.decodeProtectedHeader(token).alg, "ES256");
    assert.ok(canRead(await verifier.verify(token, "subscriber"), ["urn:a"]));
  });

  it("uses an explicit alg", async () => {
    const { privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
    const token = await mintToken({
      issuer: ISSUER,
      audience: RESOURCE,
      key: await jose.exportPKCS8(privateKey),
      alg: "PS512",
    });
    assert.equal(jose.decodeProtectedHeader(token).alg, "PS512");
    const secretToken = await mintToken({
      issuer: ISSUER,
      audience: RESOURCE,
      key: "s".repeat(64),
      alg: "HS512",
    });
    assert.equal(jose.decodeProtectedHeader(secretToken).alg, "HS512");
  });

  it("adds extra claims but refuses ones that would replace its own", async () => {
    const token = await mintToken({
      issuer: ISSUER,
      audience: RESOURCE,
      key: SECRET,
      extraClaims: { scope: "x" },
    });
    assert.equal(jose.decodeJwt(token)["scope"], "x");
    await assert.rejects(
      mintToken({ issuer: ISSUER, audience: RESOURCE, key: SECRET, extraClaims: { aud: "elsewhere" } }),
      TypeError,
    );
  });

  it("refuses bad keys and options", async () => {
    const base = { issuer: ISSUER, audience: RESOURCE };
    const configError = (code: string) => (error: unknown) =>
      error instanceof ConfigError && error.code === code;
    await assert.rejects(mintToken({ ...base, key: "short" }), configError("secret_too_short"));
    await assert.rejects(mintToken({ ...base, key: SECRET, alg: "none" }), configError("alg_none"));
    await assert.rejects(
      mintToken({ ...base, key: SECRET, alg: "ES256" }),
      configError("asymmetric_alg_without_pem"),
    );
    await assert.rejects(
      mintToken({ ...base, key: CERTIFICATE_KEY, alg: "HS256" }),
      configError("hmac_alg_with_pem"),
    );
    await assert.rejects(
      mintToken({ ...base, key: CERTIFICATE_KEY, alg: "RS256" }),
      configError("alg_key_mismatch"),
    );
    await assert.rejects(mintToken({ ...base, key: CERTIFICATE }), configError("pem_malformed"));
    await assert.rejects(mintToken({ ...base, key: SECRET, ttlSeconds: 0 }), TypeError);
    await assert.rejects(mintToken({ ...base, key: SECRET, subscribe: ["urn:a"], payload: [1] }), TypeError);
  });
});
