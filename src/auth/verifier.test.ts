import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as jose from "jose";
import { nonCanonicalSpellings } from "../../test/helpers/base64url-spelling.ts";
import { MERCURE_DETAIL_TYPE } from "./authorization-details.ts";
import { canPublish, canRead } from "./grants.ts";
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
const SECRET_256 = "a-publisher-secret-of-32-bytes!!";
const SUBSCRIBER_SECRET = "a-subscriber-secret-of-32-bytes!";

const DETAILS = [
  {
    type: MERCURE_DETAIL_TYPE,
    actions: ["publish", "subscribe"],
    topics: [{ match: "https://example.com/books/:id", match_type: "urlpattern" }],
  },
];

function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: RESOURCE,
    exp: NOW_S + 600,
    authorization_details: DETAILS,
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name];
    else base[name] = value;
  }
  return base;
}

type SigningKey = jose.CryptoKey | Uint8Array;

async function sign(
  key: SigningKey,
  alg: string,
  payload: Record<string, unknown> = claims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  return new jose.SignJWT(payload).setProtectedHeader({ alg, typ: "at+jwt", ...header }).sign(key);
}

function secret(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

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

function hmacVerifier(extra: Partial<VerifierOptions> = {}): Promise<TokenVerifier> {
  return createVerifier(
    options(
      [{ issuer: ISSUER, publisher: { key: SECRET_256 }, subscriber: { key: SUBSCRIBER_SECRET } }],
      extra,
    ),
  );
}

async function assertRejected(promise: Promise<unknown>, code?: string): Promise<InvalidTokenError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return error instanceof InvalidTokenError;
  });
  const error = caught as InvalidTokenError;
  if (code !== undefined) assert.equal(error.code, code, error.reason);
  assert.equal(error.message, "invalid token");
  return error;
}

function unsecured(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const encode = (value: unknown) => jose.base64url.encode(JSON.stringify(value));
  return `${encode(header)}.${encode(payload)}.`;
}

describe("verify: HMAC issuers", () => {
  for (const [alg, length] of [
    ["HS256", 32],
    ["HS384", 48],
    ["HS512", 64],
  ] as const) {
    it(`accepts an ${alg} token`, async () => {
      const key = "k".repeat(length);
      const verifier = await createVerifier(options([{ issuer: ISSUER, publisher: { key, alg } }]));
      const grants = await verifier.verify(await sign(secret(key), alg), "publisher");
      assert.ok(canPublish(grants, "https://example.com/books/1"));
      assert.ok(!canPublish(grants, "https://example.com/authors/1"));
    });
  }

  it("refuses a token of another HMAC algorithm than the configured one", async () => {
    const key = "k".repeat(64);
    const verifier = await createVerifier(options([{ issuer: ISSUER, publisher: { key, alg: "HS512" } }]));
    await assertRejected(
      verifier.verify(await sign(secret(key), "HS256"), "publisher"),
      "verification_failed",
    );
  });

  it("returns expiry, issuer, subject and grants", async () => {
    const verifier = await hmacVerifier();
    const token = await sign(secret(SUBSCRIBER_SECRET), "HS256", claims({ sub: "urn:uuid:1" }));
    const grants = await verifier.verify(token, "subscriber");
    assert.equal(grants.expiresAt, (NOW_S + 600) * 1000);
    assert.equal(grants.issuer, ISSUER);
    assert.equal(grants.subject, "urn:uuid:1");
    assert.ok(canRead(grants, ["https://example.com/books/1"]));
    assert.ok(Object.isFrozen(grants));
  });

  it("uses the role's own key: a subscriber token is not a publisher token", async () => {
    const verifier = await hmacVerifier();
    const subscriberToken = await sign(secret(SUBSCRIBER_SECRET), "HS256");
    await verifier.verify(subscriberToken, "subscriber");
    await assertRejected(verifier.verify(subscriberToken, "publisher"), "verification_failed");
    const publisherToken = await sign(secret(SECRET_256), "HS256");
    await verifier.verify(publisherToken, "publisher");
    await assertRejected(verifier.verify(publisherToken, "subscriber"), "verification_failed");
  });

  it("refuses a role the issuer has no key for", async () => {
    const verifier = await createVerifier(
      options([{ issuer: ISSUER, subscriber: { key: SUBSCRIBER_SECRET } }]),
    );
    const token = await sign(secret(SUBSCRIBER_SECRET), "HS256");
    await verifier.verify(token, "subscriber");
    await assertRejected(verifier.verify(token, "publisher"), "role_not_configured");
  });
});

describe("verify: asymmetric issuers", () => {
  for (const alg of ["RS256", "PS256", "ES256", "ES384", "ES512", "EdDSA"]) {
    it(`accepts an ${alg} token from a PEM public key`, async () => {
      const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
      const pem = await jose.exportSPKI(publicKey);
      const verifier = await createVerifier(options([{ issuer: ISSUER, subscriber: { key: pem, alg } }]));
      const grants = await verifier.verify(await sign(privateKey, alg), "subscriber");
      assert.ok(canRead(grants, ["https://example.com/books/1"]));
    });
  }

  for (const alg of ["RS256", "ES256", "ES384", "ES512", "EdDSA"]) {
    it(`infers ${alg} from the key type when alg is not configured`, async () => {
      const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
      const verifier = await createVerifier(
        options([{ issuer: ISSUER, subscriber: { key: await jose.exportSPKI(publicKey) } }]),
      );
      await verifier.verify(await sign(privateKey, alg), "subscriber");
    });
  }

  it("accepts several configured algorithms for one RSA key", async () => {
    const { publicKey, privateKey } = await jose.generateKeyPair("RS256", { extractable: true });
    const pss = await jose.importPKCS8(await jose.exportPKCS8(privateKey), "PS384");
    const pem = await jose.exportSPKI(publicKey);
    const verifier = await createVerifier(
      options([{ issuer: ISSUER, subscriber: { key: pem, algorithms: ["RS256", "PS384"] } }]),
    );
    await verifier.verify(await sign(privateKey, "RS256"), "subscriber");
    await verifier.verify(await sign(pss, "PS384"), "subscriber");
  });

  it("refuses an HS256 token signed with the issuer's RSA public key PEM as the secret (algorithm confusion)", async () => {
    const { publicKey } = await jose.generateKeyPair("RS256", { extractable: true });
    const pem = await jose.exportSPKI(publicKey);
    const verifier = await createVerifier(
      options([{ issuer: ISSUER, subscriber: { key: pem, alg: "RS256" } }]),
    );
    const forged = await sign(secret(pem), "HS256");
    const error = await assertRejected(verifier.verify(forged, "subscriber"), "verification_failed");
    assert.match(error.reason, /ERR_JOSE_ALG_NOT_ALLOWED/);
  });

  it("refuses an RS256 token at an HMAC issuer", async () => {
    const { privateKey } = await jose.generateKeyPair("RS256");
    const verifier = await hmacVerifier();
    await assertRejected(
      verifier.verify(await sign(privateKey, "RS256"), "publisher"),
      "verification_failed",
    );
  });

  it("refuses a token signed by another key of the same type", async () => {
    const configured = await jose.generateKeyPair("ES256", { extractable: true });
    const attacker = await jose.generateKeyPair("ES256");
    const verifier = await createVerifier(
      options([{ issuer: ISSUER, subscriber: { key: await jose.exportSPKI(configured.publicKey) } }]),
    );
    await assertRejected(
      verifier.verify(await sign(attacker.privateKey, "ES256"), "subscriber"),
      "verification_failed",
    );
  });
});

describe("verify: header checks", () => {
  for (const typ of ["at+jwt", "application/at+jwt", "AT+JWT", "Application/At+Jwt"]) {
    it(`accepts typ ${typ}`, async () => {
      const verifier = await hmacVerifier();
      await verifier.verify(await sign(secret(SECRET_256), "HS256", claims(), { typ }), "publisher");
    });
  }

  for (const typ of ["JWT", "jwt", "application/jwt", "at+jwt+x", "application/at+jwt; x=y", undefined]) {
    it(`refuses typ ${String(typ)}`, async () => {
      const verifier = await hmacVerifier();
      const header: Record<string, unknown> = { alg: "HS256" };
      if (typ !== undefined) header["typ"] = typ;
      const token = await new jose.SignJWT(claims())
        .setProtectedHeader(header as jose.JWTHeaderParameters)
        .sign(secret(SECRET_256));
      const error = await assertRejected(verifier.verify(token, "publisher"), "verification_failed");
      assert.match(error.reason, /"typ"/);
    });
  }

  it("refuses alg none", async () => {
    const verifier = await hmacVerifier();
    for (const alg of ["none", "None", "NONE"]) {
      const token = unsecured({ alg, typ: "at+jwt" }, claims());
      const error = await assertRejected(verifier.verify(token, "publisher"), "verification_failed");
      assert.match(error.reason, /ERR_JOSE_ALG_NOT_ALLOWED/);
    }
  });

  it("refuses a token embedding its own key (jwk), even when signed by that key", async () => {
    const attacker = await jose.generateKeyPair("ES256", { extractable: true });
    const { publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
    const verifier = await createVerifier(
      options([{ issuer: ISSUER, subscriber: { key: await jose.exportSPKI(publicKey) } }]),
    );
    const jwk = await jose.exportJWK(attacker.publicKey);
    const token = await sign(attacker.privateKey, "ES256", claims(), { jwk });
    await assertRejected(verifier.verify(token, "subscriber"), "header_forbidden");
  });

  for (const [name, value] of [
    ["jku", "https://attacker.example/jwks.json"],
    ["x5u", "https://attacker.example/cert.pem"],
    ["x5c", ["MIIB"]],
    ["crit", ["exp"]],
  ] as const) {
    it(`refuses a ${name} header`, async () => {
      const verifier = await hmacVerifier();
      const token = unsignedHeaderToken({ alg: "HS256", typ: "at+jwt", [name]: value });
      await assertRejected(verifier.verify(token, "publisher"), "header_forbidden");
    });
  }

  it("allows a kid header with static keys", async () => {
    const verifier = await hmacVerifier();
    await verifier.verify(
      await sign(secret(SECRET_256), "HS256", claims(), { kid: "anything" }),
      "publisher",
    );
  });
});

/** A token whose header is exactly `header` and whose signature is garbage: enough for header checks. */
function unsignedHeaderToken(header: Record<string, unknown>): string {
  const encode = (value: unknown) => jose.base64url.encode(JSON.stringify(value));
  return `${encode(header)}.${encode(claims())}.c2ln`;
}

describe("verify: claim checks", () => {
  async function verifyClaims(payload: Record<string, unknown>, extra: Partial<VerifierOptions> = {}) {
    const verifier = await hmacVerifier(extra);
    return verifier.verify(await sign(secret(SECRET_256), "HS256", payload), "publisher");
  }

  it("accepts a token without sub, client_id, iat or jti", async () => {
    const grants = await verifyClaims(claims());
    assert.equal(grants.subject, undefined);
  });

  it("refuses a wrong aud", async () => {
    await assertRejected(verifyClaims(claims({ aud: "https://other-hub.example.com/.well-known/mercure" })));
  });

  it("refuses a missing aud", async () => {
    await assertRejected(verifyClaims(claims({ aud: undefined })), "verification_failed");
  });

  it("accepts an aud array containing the resource identifier", async () => {
    await verifyClaims(claims({ aud: ["https://api.example.com", RESOURCE] }));
  });

  it("refuses an aud array without the resource identifier", async () => {
    await assertRejected(verifyClaims(claims({ aud: ["https://api.example.com"] })), "verification_failed");
  });

  it("refuses a token without exp", async () => {
    const error = await assertRejected(verifyClaims(claims({ exp: undefined })), "verification_failed");
    assert.match(error.reason, /exp/);
  });

  it("refuses a non-numeric exp", async () => {
    await assertRejected(verifyClaims(claims({ exp: String(NOW_S + 600) })), "verification_failed");
  });

  it("refuses an expired token", async () => {
    const error = await assertRejected(verifyClaims(claims({ exp: NOW_S - 60 })), "verification_failed");
    assert.match(error.reason, /ERR_JWT_EXPIRED/);
  });

  it("tolerates a few seconds of clock skew by default, and none when configured so", async () => {
    await verifyClaims(claims({ exp: NOW_S - 3 }));
    await assertRejected(verifyClaims(claims({ exp: NOW_S - 3 }), { clockToleranceSeconds: 0 }));
    await assertRejected(verifyClaims(claims({ exp: NOW_S }), { clockToleranceSeconds: 0 }));
  });

  it("refuses a token whose nbf is in the future", async () => {
    const error = await assertRejected(verifyClaims(claims({ nbf: NOW_S + 60 })), "verification_failed");
    assert.match(error.reason, /nbf/);
  });

  it("accepts a token whose nbf has passed", async () => {
    await verifyClaims(claims({ nbf: NOW_S - 1 }));
  });

  it("refuses an unknown issuer", async () => {
    await assertRejected(verifyClaims(claims({ iss: "https://stranger.example.com" })), "issuer_unknown");
  });

  it("refuses a token without iss, or with a non-string iss", async () => {
    await assertRejected(verifyClaims(claims({ iss: undefined })), "issuer_missing");
    await assertRejected(verifyClaims(claims({ iss: [ISSUER] })), "issuer_missing");
  });

  it("refuses a token signed with issuer A's key but claiming issuer B", async () => {
    const a = await jose.generateKeyPair("ES256", { extractable: true });
    const b = await jose.generateKeyPair("ES256", { extractable: true });
    const verifier = await createVerifier(
      options([
        { issuer: ISSUER, subscriber: { key: await jose.exportSPKI(a.publicKey) } },
        { issuer: OTHER_ISSUER, subscriber: { key: await jose.exportSPKI(b.publicKey) } },
      ]),
    );
    await verifier.verify(await sign(a.privateKey, "ES256", claims({ iss: ISSUER })), "subscriber");
    await verifier.verify(await sign(b.privateKey, "ES256", claims({ iss: OTHER_ISSUER })), "subscriber");
    await assertRejected(
      verifier.verify(await sign(a.privateKey, "ES256", claims({ iss: OTHER_ISSUER })), "subscriber"),
      "verification_failed",
    );
  });

  it("refuses the same across HMAC issuers", async () => {
    const verifier = await createVerifier(
      options([
        { issuer: ISSUER, publisher: { key: SECRET_256 } },
        { issuer: OTHER_ISSUER, publisher: { key: SUBSCRIBER_SECRET } },
      ]),
    );
    const token = await sign(secret(SECRET_256), "HS256", claims({ iss: OTHER_ISSUER }));
    await assertRejected(verifier.verify(token, "publisher"), "verification_failed");
  });

  it("refuses a token with malformed authorization details", async () => {
    await assertRejected(
      verifyClaims(
        claims({ authorization_details: [{ type: MERCURE_DETAIL_TYPE, actions: [], topics: [] }] }),
      ),
      "authorization_details_invalid",
    );
  });

  it("applies the authorization details limits", async () => {
    const many = Array.from({ length: 3 }, () => DETAILS[0]);
    const limits = { ...DEFAULT_VERIFIER_LIMITS, maxAuthorizationDetails: 2 };
    await assertRejected(
      verifyClaims(claims({ authorization_details: many }), { limits }),
      "authorization_details_limit",
    );
  });

  it("grants nothing when there is no authorization_details claim", async () => {
    const grants = await verifyClaims(claims({ authorization_details: undefined }));
    assert.equal(grants.publish.length, 0);
    assert.equal(grants.subscribe.length, 0);
  });
});

describe("verify: token shape and size", () => {
  it("refuses a token larger than maxTokenBytes before decoding it, and accepts one at the limit", async () => {
    const token = await sign(secret(SECRET_256), "HS256");
    const atLimit = await hmacVerifier({
      limits: { ...DEFAULT_VERIFIER_LIMITS, maxTokenBytes: token.length },
    });
    await atLimit.verify(token, "publisher");
    const under = await hmacVerifier({
      limits: { ...DEFAULT_VERIFIER_LIMITS, maxTokenBytes: token.length - 1 },
    });
    await assertRejected(under.verify(token, "publisher"), "token_too_large");
  });

  it("refuses strings that are not JWS compact tokens", async () => {
    const verifier = await hmacVerifier();
    for (const token of ["", "abc", "a.b", "a.b.c.d", "a b.c.d"]) {
      await assertRejected(verifier.verify(token, "publisher"), "token_malformed");
    }
  });

  it("refuses a token whose parts do not decode to JSON", async () => {
    const verifier = await hmacVerifier();
    await assertRejected(verifier.verify("aGVsbG8.d29ybGQ.c2ln", "publisher"), "token_malformed");
  });
});

describe("verify: base64url spelling", () => {
  /** The token with segment `index` (0 header, 1 payload, 2 signature) replaced by `segment`. */
  function withSegment(token: string, index: number, segment: string): string {
    const segments = token.split(".");
    segments[index] = segment;
    return segments.join(".");
  }

  /**
   * A token each of whose segments has unused bits: the header and payload get a parameter whose
   * length puts their base64url in groups of two or three characters at the end.
   */
  async function tokenWithUnusedBitsEverywhere(): Promise<string> {
    for (let headerPad = 0; headerPad < 3; headerPad++) {
      for (let payloadPad = 0; payloadPad < 3; payloadPad++) {
        const token = await sign(secret(SECRET_256), "HS256", claims({ jti: "j".repeat(payloadPad + 1) }), {
          kid: "k".repeat(headerPad + 1),
        });
        if (token.split(".").every((segment) => nonCanonicalSpellings(segment).length > 0)) return token;
      }
    }
    throw new Error("no padding gave every segment unused bits");
  }

  it("refuses an HS256 signature whose last character sets unused bits, though it decodes to the same bytes", async () => {
    const verifier = await hmacVerifier();
    const token = await sign(secret(SECRET_256), "HS256");
    const signature = token.split(".")[2]!;
    // 32 bytes in 43 characters: the last one carries 4 bits of the signature and 2 unused ones.
    assert.equal(signature.length, 43);
    const spellings = nonCanonicalSpellings(signature);
    assert.equal(spellings.length, 3);
    for (const spelling of spellings) {
      assert.deepEqual(Buffer.from(spelling, "base64url"), Buffer.from(signature, "base64url"));
      await assertRejected(
        verifier.verify(withSegment(token, 2, spelling), "publisher"),
        "token_noncanonical",
      );
    }
    await verifier.verify(token, "publisher");
  });

  it("refuses a non-canonical spelling in any of the three segments, for each role", async () => {
    const verifier = await hmacVerifier();
    const token = await tokenWithUnusedBitsEverywhere();
    for (const index of [0, 1, 2]) {
      for (const spelling of nonCanonicalSpellings(token.split(".")[index]!)) {
        for (const role of ["publisher", "subscriber"] as const) {
          await assertRejected(
            verifier.verify(withSegment(token, index, spelling), role),
            "token_noncanonical",
          );
        }
      }
    }
  });

  it("refuses padding, a length no base64url has, and characters outside the base64url alphabet", async () => {
    const verifier = await hmacVerifier();
    const token = await sign(secret(SECRET_256), "HS256");
    const [header, payload, signature] = token.split(".") as [string, string, string];
    for (const variant of [
      `${header}.${payload}.${signature}=`,
      `${header}.${payload}.${signature}AA`,
      `${header}.${payload}.${signature.slice(0, -4)}`,
      `${header}.${payload}.${signature.replaceAll("-", "+").replaceAll("_", "/")}+/`,
      `${header}.${payload}.${signature.slice(0, 10)} ${signature.slice(10)}`,
      `${header}=.${payload}.${signature}`,
      `${header}.${payload}A.${signature}`,
      `${header}.${payload}.${signature}\n`,
    ]) {
      await assertRejected(verifier.verify(variant, "publisher"));
    }
  });

  it("never lets the cache answer for another spelling of a token it verified", async () => {
    const verifier = await hmacVerifier();
    const token = await sign(secret(SECRET_256), "HS256");
    const [spelling] = nonCanonicalSpellings(token.split(".")[2]!);
    await verifier.verify(token, "publisher");
    await assertRejected(
      verifier.verify(withSegment(token, 2, spelling!), "publisher"),
      "token_noncanonical",
    );
    await verifier.verify(token, "publisher");
  });
});

describe("verify: cache", () => {
  it("does not serve a token past its exp from the cache", async () => {
    let now = NOW;
    const verifier = await hmacVerifier({ now: () => now });
    const token = await sign(secret(SECRET_256), "HS256", claims({ exp: NOW_S + 30 }));
    await verifier.verify(token, "publisher");
    now += 29_000;
    await verifier.verify(token, "publisher");
    now += 1_000 + 6_000; // past exp and the clock tolerance
    await assertRejected(verifier.verify(token, "publisher"), "verification_failed");
  });

  it("shares compiled matchers between tokens granting the same topics: a cached token costs its text, not its own automata", async () => {
    const verifier = await hmacVerifier({ legacy: {} });
    const key = secret(SECRET_256);
    const [first, second] = await Promise.all(
      ["urn:uuid:1", "urn:uuid:2"].map(async (jti) =>
        verifier.verify(await sign(key, "HS256", claims({ jti })), "publisher"),
      ),
    );
    assert.notEqual(first, second);
    assert.equal(first!.publish[0], second!.publish[0]);
    assert.equal(first!.subscribe[0]!.matchers[0], second!.subscribe[0]!.matchers[0]);
    const legacy = (jti: string) =>
      new jose.SignJWT({ jti, mercure: { publish: ["https://example.com/books/{id}"] } })
        .setProtectedHeader({ alg: "HS256" })
        .sign(key);
    const [one, two] = [
      await verifier.verify(await legacy("a"), "publisher"),
      await verifier.verify(await legacy("b"), "publisher"),
    ];
    assert.equal(one.publish[0], two.publish[0]);
    assert.ok(canPublish(one, "https://example.com/books/1"));
  });

  it("keys the cache by role", async () => {
    const verifier = await hmacVerifier();
    const token = await sign(secret(SUBSCRIBER_SECRET), "HS256");
    await verifier.verify(token, "subscriber");
    await assertRejected(verifier.verify(token, "publisher"), "verification_failed");
  });
});
