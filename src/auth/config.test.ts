import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { before, describe, it } from "node:test";
import * as jose from "jose";
import {
  ConfigError,
  type ConfigErrorCode,
  createVerifier,
  DEFAULT_VERIFIER_LIMITS,
  type IssuerConfig,
  type KeyConfig,
  type VerifierOptions,
} from "./verifier.ts";

const RESOURCE = "https://hub.example.com/.well-known/mercure";
const ISSUER = "https://issuer.example.com";
const SECRET = "0123456789abcdef0123456789abcdef"; // 32 bytes

function options(issuers: IssuerConfig[], extra: Partial<VerifierOptions> = {}): VerifierOptions {
  return {
    issuers,
    resourceIdentifier: RESOURCE,
    baseUrl: RESOURCE,
    limits: { ...DEFAULT_VERIFIER_LIMITS },
    ...extra,
  };
}

async function assertConfigError(
  promise: Promise<unknown>,
  code: ConfigErrorCode,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.code, code, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

function withPublisher(publisher: KeyConfig): Promise<unknown> {
  return createVerifier(options([{ issuer: ISSUER, publisher }]));
}

describe("createVerifier: configuration errors", () => {
  let rsaPem = "";
  let ecPem = "";
  let edPem = "";
  let privatePem = "";

  before(async () => {
    const rsa = await jose.generateKeyPair("RS256", { extractable: true });
    rsaPem = await jose.exportSPKI(rsa.publicKey);
    privatePem = await jose.exportPKCS8(rsa.privateKey);
    ecPem = await jose.exportSPKI((await jose.generateKeyPair("ES256", { extractable: true })).publicKey);
    edPem = await jose.exportSPKI((await jose.generateKeyPair("EdDSA", { extractable: true })).publicKey);
  });

  it("accepts a valid configuration with several issuers and no keys for some roles", async () => {
    const verifier = await createVerifier(
      options([
        { issuer: ISSUER, publisher: { key: SECRET }, subscriber: { key: rsaPem } },
        {
          issuer: "https://other.example.com",
          subscriber: { jwksUri: "https://other.example.com/jwks.json" },
        },
      ]),
    );
    assert.equal(typeof verifier.verify, "function");
  });

  it("issuer_missing: an empty issuer", () => assertConfigError(withIssuer(""), "issuer_missing"));

  it("issuer_duplicate: the same issuer twice", () =>
    assertConfigError(
      createVerifier(
        options([
          { issuer: ISSUER, publisher: { key: SECRET } },
          { issuer: ISSUER, subscriber: { key: SECRET } },
        ]),
      ),
      "issuer_duplicate",
      /configured twice/,
    ));

  it("issuer_without_keys: an issuer with no role", () =>
    assertConfigError(createVerifier(options([{ issuer: ISSUER }])), "issuer_without_keys"));

  it("key_missing: a role with neither key nor jwksUri", () =>
    assertConfigError(withPublisher({}), "key_missing"));

  it("key_and_jwks_uri: both key and jwksUri", () =>
    assertConfigError(
      withPublisher({ key: SECRET, jwksUri: "https://as.example.com/jwks" }),
      "key_and_jwks_uri",
    ));

  it("jwks_uri_invalid: a JWK Set URL with credentials, which the message does not repeat", () =>
    assertConfigError(
      withPublisher({ jwksUri: "https://client:p4ssw0rd@as.example.com/jwks" }),
      "jwks_uri_invalid",
      /^(?!.*p4ssw0rd).*credentials/s,
    ));

  it("alg_none: alg none, in any case", async () => {
    await assertConfigError(withPublisher({ key: SECRET, alg: "none" }), "alg_none");
    await assertConfigError(withPublisher({ key: SECRET, alg: "NONE" }), "alg_none");
    await assertConfigError(
      withPublisher({ jwksUri: "https://as.example.com/jwks", algorithms: ["ES256", "none"] }),
      "alg_none",
    );
  });

  it("alg_unknown: an algorithm the hub does not know", async () => {
    await assertConfigError(withPublisher({ key: SECRET, alg: "HS1" }), "alg_unknown", /HS256/);
    await assertConfigError(withPublisher({ key: rsaPem, alg: "rs256" }), "alg_unknown");
  });

  it("alg_and_algorithms: both alg and algorithms", () =>
    assertConfigError(
      withPublisher({ key: SECRET, alg: "HS256", algorithms: ["HS256"] }),
      "alg_and_algorithms",
    ));

  it("algorithms_empty: an empty allowlist", () =>
    assertConfigError(
      withPublisher({ jwksUri: "https://as.example.com/jwks", algorithms: [] }),
      "algorithms_empty",
    ));

  it("hmac_alg_with_pem: an HMAC algorithm with a PEM key", () =>
    assertConfigError(withPublisher({ key: rsaPem, alg: "HS256" }), "hmac_alg_with_pem"));

  it("asymmetric_alg_without_pem: an asymmetric algorithm with a secret", () =>
    assertConfigError(withPublisher({ key: SECRET, alg: "RS256" }), "asymmetric_alg_without_pem", /PEM/));

  it("alg_key_mismatch: an algorithm that does not fit the key", async () => {
    await assertConfigError(withPublisher({ key: rsaPem, alg: "ES256" }), "alg_key_mismatch");
    await assertConfigError(withPublisher({ key: ecPem, alg: "ES384" }), "alg_key_mismatch", /ES256/);
    await assertConfigError(withPublisher({ key: ecPem, alg: "RS256" }), "alg_key_mismatch");
    await assertConfigError(withPublisher({ key: edPem, alg: "ES256" }), "alg_key_mismatch");
  });

  it("secret_empty: an empty secret", () =>
    assertConfigError(withPublisher({ key: "" }), "secret_empty", /openssl rand -base64 32/));

  it("secret_too_short: a secret shorter than the hash, with how to make one", async () => {
    await assertConfigError(withPublisher({ key: "short" }), "secret_too_short", /openssl rand -base64 32/);
    await assertConfigError(withPublisher({ key: SECRET.slice(1) }), "secret_too_short");
    await assertConfigError(withPublisher({ key: SECRET, alg: "HS384" }), "secret_too_short", /48/);
    await assertConfigError(withPublisher({ key: "x".repeat(48), alg: "HS512" }), "secret_too_short", /64/);
    await withPublisher({ key: SECRET });
    await withPublisher({ key: "x".repeat(48), alg: "HS384" });
    await withPublisher({ key: "x".repeat(64), alg: "HS512" });
  });

  it("allowShortSecret: the old hub's short secrets are accepted when asked, and verify tokens", async () => {
    const short = "!ChangeMe!";
    const verifier = await createVerifier(
      options([{ issuer: ISSUER, publisher: { key: short, allowShortSecret: true } }]),
    );
    await withPublisher({ key: "short", alg: "HS512", allowShortSecret: true });
    await assertConfigError(withPublisher({ key: "", allowShortSecret: true }), "secret_empty");
    const token = await new jose.SignJWT({
      authorization_details: [
        {
          type: "https://mercure.rocks/authorization-detail",
          actions: ["publish"],
          topics: [{ match: "*" }],
        },
      ],
    })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
      .setIssuer(ISSUER)
      .setAudience(RESOURCE)
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode(short));
    const grants = await verifier.verify(token, "publisher");
    assert.ok(grants);
  });

  it("pem_malformed: a PEM that does not parse", async () => {
    await assertConfigError(
      withPublisher({ key: "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----" }),
      "pem_malformed",
    );
    await assertConfigError(
      withPublisher({ key: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", alg: "RS256" }),
      "pem_malformed",
    );
  });

  it("pem_private_key: a private key where the public key belongs", () =>
    assertConfigError(withPublisher({ key: privatePem }), "pem_private_key", /pubout/));

  it("key_unsupported: a key type without a JWS algorithm", async () => {
    const ed448 = generateKeyPairSync("ed448").publicKey.export({ type: "spki", format: "pem" }).toString();
    await assertConfigError(withPublisher({ key: ed448 }), "key_unsupported");
    const k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" })
      .publicKey.export({ type: "spki", format: "pem" })
      .toString();
    await assertConfigError(withPublisher({ key: k1 }), "key_unsupported");
  });

  it("key_too_weak: an RSA key under 2048 bits", () => {
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 })
      .publicKey.export({ type: "spki", format: "pem" })
      .toString();
    return assertConfigError(withPublisher({ key: weak }), "key_too_weak");
  });

  it("jwks_uri_invalid: not an absolute http(s) URL", async () => {
    await assertConfigError(withPublisher({ jwksUri: "/jwks.json" }), "jwks_uri_invalid");
    await assertConfigError(withPublisher({ jwksUri: "file:///etc/jwks.json" }), "jwks_uri_invalid");
    await assertConfigError(withPublisher({ jwksUri: "ftp://as.example.com/jwks.json" }), "jwks_uri_invalid");
  });

  it("jwks_symmetric_alg: an HMAC algorithm for a JWK Set", () =>
    assertConfigError(
      withPublisher({ jwksUri: "https://as.example.com/jwks", algorithms: ["ES256", "HS256"] }),
      "jwks_symmetric_alg",
    ));

  it("jwks_option_invalid: a negative or fractional duration", async () => {
    const issuers = [{ issuer: ISSUER, publisher: { jwksUri: "https://as.example.com/jwks" } }];
    await assertConfigError(
      createVerifier(options(issuers, { jwks: { cooldownMs: -1 } })),
      "jwks_option_invalid",
    );
    await assertConfigError(
      createVerifier(options(issuers, { jwks: { timeoutMs: 1.5 } })),
      "jwks_option_invalid",
    );
  });

  it("resource_identifier_missing", () =>
    assertConfigError(
      createVerifier(options([], { resourceIdentifier: "" })),
      "resource_identifier_missing",
    ));

  it("base_url_invalid", () =>
    assertConfigError(createVerifier(options([], { baseUrl: "/.well-known/mercure" })), "base_url_invalid"));

  it("limit_invalid", async () => {
    for (const name of [
      "maxTokenBytes",
      "maxAuthorizationDetails",
      "maxTopicsPerDetail",
      "maxPatternLength",
    ]) {
      for (const value of [0, -1, 1.5, Number.NaN]) {
        await assertConfigError(
          createVerifier(options([], { limits: { ...DEFAULT_VERIFIER_LIMITS, [name]: value } })),
          "limit_invalid",
          new RegExp(name),
        );
      }
    }
  });

  it("clock_tolerance_invalid", () =>
    assertConfigError(createVerifier(options([], { clockToleranceSeconds: -1 })), "clock_tolerance_invalid"));

  it("cache_option_invalid", () =>
    assertConfigError(createVerifier(options([], { cache: { maxEntries: -1 } })), "cache_option_invalid"));

  it("names the place to fix in the message", () =>
    assertConfigError(
      createVerifier(
        options([
          { issuer: ISSUER, publisher: { key: SECRET } },
          { issuer: "https://b.example.com", subscriber: { key: "short" } },
        ]),
      ),
      "secret_too_short",
      /issuers\[1\]\.subscriber/,
    ));
});

function withIssuer(issuer: string): Promise<unknown> {
  return createVerifier(options([{ issuer, publisher: { key: SECRET } }]));
}
