/**
 * Keys from an issuer's JWK Set URL (RFC 7517), through jose's remote key set: cached, fetched
 * again after `cacheMaxAgeMs`, and on an unknown `kid` at most once per `cooldownMs`.
 *
 * The URL comes from configuration only, never from a token (`jku`/`x5u` are refused by the
 * verifier). jose does not follow redirects here, which keeps a compromised issuer from bouncing
 * the hub to an internal address (SSRF, CWE-918).
 */
import * as jose from "jose";
import { ConfigError } from "./errors.ts";
import type { VerificationMaterial } from "./keys.ts";

export interface JwksOptions {
  /** Least time between two fetches triggered by an unknown `kid` (default 30 s). */
  cooldownMs?: number;
  /** Age after which the cached key set is fetched again (default 10 min). */
  cacheMaxAgeMs?: number;
  /** Timeout of one fetch (default 5 s). */
  timeoutMs?: number;
}

export const DEFAULT_JWKS_ALGORITHMS: readonly string[] = Object.freeze([
  "EdDSA",
  "ES256",
  "ES384",
  "ES512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
]);
export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
export const DEFAULT_JWKS_CACHE_MAX_AGE_MS = 600_000;
export const DEFAULT_JWKS_TIMEOUT_MS = 5_000;
/** Largest JWK Set response accepted, in bytes. */
export const MAX_JWKS_BYTES = 1024 * 1024;
/** After a failed JWK Set fetch, requests fail fast for this long (capped by the cooldown). */
export const JWKS_FAILURE_BACKOFF_MS = 5_000;

/**
 * Prepares the key set of one issuer and role. `algorithms` is the allowlist, already checked to
 * hold asymmetric algorithms only. Nothing is fetched until the first token arrives.
 */
export function loadJwks(
  uri: string,
  algorithms: readonly string[],
  where: string,
  options: JwksOptions,
  now: () => number,
): VerificationMaterial {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ConfigError(
      "jwks_uri_invalid",
      `${where}.jwksUri: ${JSON.stringify(uri)} is not an absolute URL`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new ConfigError(
      "jwks_uri_invalid",
      `${where}.jwksUri: use an https:// (or http://) URL, not ${url.protocol}`,
    );
  }
  // fetch refuses a URL with credentials, and its error quotes the URL whole: every token naming
  // the issuer would be refused and the password written to the log with the reason. The message
  // leaves the URL out for the same reason.
  if (url.username !== "" || url.password !== "") {
    throw new ConfigError(
      "jwks_uri_invalid",
      `${where}.jwksUri: a JWK Set URL cannot carry credentials (user:password@); serve the key set without them`,
    );
  }
  const cooldownMs = duration(options.cooldownMs, DEFAULT_JWKS_COOLDOWN_MS, "jwks.cooldownMs");
  const cacheMaxAgeMs = duration(options.cacheMaxAgeMs, DEFAULT_JWKS_CACHE_MAX_AGE_MS, "jwks.cacheMaxAgeMs");
  const timeoutMs = duration(options.timeoutMs, DEFAULT_JWKS_TIMEOUT_MS, "jwks.timeoutMs");
  const backoffMs = Math.min(cooldownMs, JWKS_FAILURE_BACKOFF_MS);
  let lastFailure = Number.NEGATIVE_INFINITY;

  // jose refetches on an unknown `kid` only once the cooldown since the last successful fetch
  // has passed, so a flood of made-up kids costs the issuer at most one request per cooldown.
  // It does not slow down retries after a failed fetch; this wrapper does, and caps the body.
  // A 200 whose body is no JWK Set (a maintenance page, a proxy's error in JSON) is a failed
  // fetch too: jose would refuse it after this wrapper returned, with no backoff, and every
  // token naming the issuer would then cost the issuer a request.
  const limitedFetch: jose.FetchImplementation = async (href, init) => {
    if (now() < lastFailure + backoffMs) throw new Error("JWK Set fetch failed recently; not retrying yet");
    try {
      const response = await fetch(href, init);
      if (response.status !== 200) {
        await response.body?.cancel();
        throw new Error(`JWK Set fetch answered ${response.status}, expected 200`);
      }
      const body = await readLimited(response, MAX_JWKS_BYTES);
      checkJwkSet(body);
      return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
    } catch (error) {
      lastFailure = now();
      throw error;
    }
  };
  const set = jose.createRemoteJWKSet(url, {
    cooldownDuration: cooldownMs,
    cacheMaxAge: cacheMaxAgeMs,
    timeoutDuration: timeoutMs,
    [jose.customFetch]: limitedFetch,
  });
  return Object.freeze({
    kind: "jwks",
    algorithms: Object.freeze([...algorithms]),
    resolve: (header: jose.JWSHeaderParameters) => set(header),
  });
}

function duration(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(
      "jwks_option_invalid",
      `${name} must be a non-negative integer number of milliseconds`,
    );
  }
  return value;
}

/** Throws unless `body` is a JWK Set as jose reads it (JSON, `keys` an array of objects). */
function checkJwkSet(body: Uint8Array): void {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new Error("JWK Set response is not JSON");
  }
  // jose's own check, so that what passes here is what it will accept.
  jose.createLocalJWKSet(json as jose.JSONWebKeySet);
}

async function readLimited(response: Response, limit: number): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (reader === undefined) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new Error(`JWK Set response larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
