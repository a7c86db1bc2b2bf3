import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as jose from "jose";
import { MERCURE_DETAIL_TYPE } from "./authorization-details.ts";
import { canRead } from "./grants.ts";
import {
  createVerifier,
  DEFAULT_VERIFIER_LIMITS,
  InvalidTokenError,
  type VerifierOptions,
} from "./verifier.ts";

const RESOURCE = "https://hub.example.com/.well-known/mercure";
const ISSUER = "https://as.example.com";
const NOW = Date.now();

interface KeyPair {
  kid: string;
  alg: string;
  privateKey: jose.CryptoKey;
  jwk: jose.JWK;
}

async function keyPair(kid: string, alg = "ES256"): Promise<KeyPair> {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, jwk };
}

/** A JWK Set server on port 0 that counts its hits and whose answer the test can change. */
class JwksServer {
  hits = 0;
  status = 200;
  keys: jose.JWK[] = [];
  /** A body to answer with a 200 instead of the key set. */
  raw: string | undefined;
  readonly #server: Server = createServer((_request, response) => {
    this.hits++;
    if (this.status !== 200) {
      response.writeHead(this.status).end();
      return;
    }
    response.writeHead(200, { "content-type": "application/jwk-set+json" });
    response.end(this.raw ?? JSON.stringify({ keys: this.keys }));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/jwks.json`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

function sign(
  pair: KeyPair,
  overrides: Record<string, unknown> = {},
  kid: string = pair.kid,
): Promise<string> {
  return new jose.SignJWT({
    iss: ISSUER,
    aud: RESOURCE,
    exp: Math.floor(NOW / 1000) + 600,
    authorization_details: [
      { type: MERCURE_DETAIL_TYPE, actions: ["subscribe"], topics: [{ match: "urn:a" }] },
    ],
    ...overrides,
  })
    .setProtectedHeader({ alg: pair.alg, typ: "at+jwt", kid })
    .sign(pair.privateKey);
}

function options(jwksUri: string, extra: Partial<VerifierOptions> = {}): VerifierOptions {
  return {
    issuers: [{ issuer: ISSUER, subscriber: { jwksUri } }],
    resourceIdentifier: RESOURCE,
    baseUrl: RESOURCE,
    limits: { ...DEFAULT_VERIFIER_LIMITS },
    ...extra,
  };
}

async function rejected(promise: Promise<unknown>): Promise<InvalidTokenError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return error instanceof InvalidTokenError;
  });
  return caught as InvalidTokenError;
}

describe("JWK Set issuers", () => {
  const server = new JwksServer();
  let uri = "";
  let first: KeyPair;
  let second: KeyPair;
  let rsa: KeyPair;
  let ed: KeyPair;

  before(async () => {
    uri = await server.start();
    [first, second, rsa, ed] = await Promise.all([
      keyPair("k1"),
      keyPair("k2"),
      keyPair("r1", "RS256"),
      keyPair("e1", "EdDSA"),
    ]);
  });
  after(() => server.stop());

  function reset(keys: jose.JWK[]): void {
    server.hits = 0;
    server.status = 200;
    server.raw = undefined;
    server.keys = keys;
  }

  it("verifies tokens with keys fetched from the issuer's JWK Set, selected by kid", async () => {
    reset([first.jwk, rsa.jwk, ed.jwk]);
    const verifier = await createVerifier(options(uri, { cache: { maxEntries: 0 } }));
    for (const pair of [first, rsa, ed]) {
      const grants = await verifier.verify(await sign(pair), "subscriber");
      assert.ok(canRead(grants, ["urn:a"]));
    }
    assert.equal(server.hits, 1);
  });

  it("refetches the set on a new kid after rotation", async () => {
    reset([first.jwk]);
    const verifier = await createVerifier(options(uri, { jwks: { cooldownMs: 0 } }));
    await verifier.verify(await sign(first), "subscriber");
    assert.equal(server.hits, 1);
    server.keys = [second.jwk];
    await verifier.verify(await sign(second), "subscriber");
    assert.equal(server.hits, 2);
  });

  it("does not refetch more than once per cooldown however many unknown kids arrive", async () => {
    reset([first.jwk]);
    const verifier = await createVerifier(options(uri, { jwks: { cooldownMs: 60_000 } }));
    await verifier.verify(await sign(first), "subscriber");
    assert.equal(server.hits, 1);
    const floods = await Promise.all(Array.from({ length: 20 }, (_, i) => sign(first, {}, `unknown-${i}`)));
    await Promise.all(floods.map(async (token) => rejected(verifier.verify(token, "subscriber"))));
    for (const token of floods.slice(0, 5)) await rejected(verifier.verify(token, "subscriber"));
    assert.equal(server.hits, 1);
  });

  it("fetches once for concurrent first requests", async () => {
    reset([first.jwk]);
    const verifier = await createVerifier(options(uri, { cache: { maxEntries: 0 } }));
    const tokens = await Promise.all(Array.from({ length: 10 }, () => sign(first)));
    await Promise.all(tokens.map((token) => verifier.verify(token, "subscriber")));
    assert.equal(server.hits, 1);
  });

  it("never accepts an HMAC token, even one signed with a symmetric key published in the set", async () => {
    const octet = new TextEncoder().encode("s".repeat(32));
    reset([{ kty: "oct", k: jose.base64url.encode(octet), kid: "h1", alg: "HS256" }, first.jwk]);
    const verifier = await createVerifier(options(uri));
    const token = await new jose.SignJWT({ iss: ISSUER, aud: RESOURCE, exp: Math.floor(NOW / 1000) + 600 })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: "h1" })
      .sign(octet);
    const error = await rejected(verifier.verify(token, "subscriber"));
    assert.match(error.reason, /ERR_JOSE_ALG_NOT_ALLOWED/);
  });

  it("honours the configured algorithm allowlist", async () => {
    reset([first.jwk, rsa.jwk]);
    const verifier = await createVerifier({
      ...options(uri),
      issuers: [{ issuer: ISSUER, subscriber: { jwksUri: uri, algorithms: ["ES256"] } }],
    });
    await verifier.verify(await sign(first), "subscriber");
    const error = await rejected(verifier.verify(await sign(rsa), "subscriber"));
    assert.match(error.reason, /ERR_JOSE_ALG_NOT_ALLOWED/);
  });

  it("does not hammer an issuer whose JWK Set is failing, and recovers after the backoff", async () => {
    reset([first.jwk]);
    server.status = 500;
    let now = NOW;
    const verifier = await createVerifier(options(uri, { now: () => now }));
    const token = await sign(first);
    await rejected(verifier.verify(token, "subscriber"));
    await rejected(verifier.verify(token, "subscriber"));
    await rejected(verifier.verify(token, "subscriber"));
    assert.equal(server.hits, 1);
    server.status = 200;
    now += 5_000;
    await verifier.verify(token, "subscriber");
    assert.equal(server.hits, 2);
  });

  for (const raw of ["<html>maintenance</html>", '{"keys":"none"}', "[]"]) {
    it(`treats a 200 answering ${raw} as a failed fetch: backed off, then recovered`, async () => {
      reset([first.jwk]);
      server.raw = raw;
      let now = NOW;
      const verifier = await createVerifier(options(uri, { now: () => now }));
      const token = await sign(first);
      await rejected(verifier.verify(token, "subscriber"));
      await rejected(verifier.verify(await sign(first, {}, "another-kid"), "subscriber"));
      await rejected(verifier.verify(token, "subscriber"));
      assert.equal(server.hits, 1);
      server.raw = undefined;
      now += 5_000;
      await verifier.verify(token, "subscriber");
      assert.equal(server.hits, 2);
    });
  }

  it("caches verified tokens: a second verify does not touch the key, until the cache entry ages out", async () => {
    reset([first.jwk]);
    let now = NOW;
    // cacheMaxAgeMs 0: every key lookup goes to the server, so its hit count counts key lookups.
    const verifier = await createVerifier(options(uri, { now: () => now, jwks: { cacheMaxAgeMs: 0 } }));
    const token = await sign(first);
    await verifier.verify(token, "subscriber");
    assert.equal(server.hits, 1);
    await verifier.verify(token, "subscriber");
    await verifier.verify(token, "subscriber");
    assert.equal(server.hits, 1);
    now += 59_999;
    await verifier.verify(token, "subscriber");
    assert.equal(server.hits, 1);
    now += 1;
    await verifier.verify(token, "subscriber");
    assert.equal(server.hits, 2);
  });

  it("never caches failures", async () => {
    reset([first.jwk]);
    const verifier = await createVerifier(options(uri, { jwks: { cacheMaxAgeMs: 0 } }));
    const token = await sign(first, { aud: "https://elsewhere.example.com" });
    await rejected(verifier.verify(token, "subscriber"));
    await rejected(verifier.verify(token, "subscriber"));
    assert.equal(server.hits, 2);
  });
});
