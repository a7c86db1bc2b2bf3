/**
 * Mints draft-08 access tokens (for the CLI's `token` command and for tests).
 *
 * The token carries every claim RFC 9068 asks issuers to populate (`iss`, `exp`, `aud`, `sub`,
 * `client_id`, `iat`, `jti`), so that any RFC 9068 validator accepts it, and one Mercure
 * authorization detail per action.
 */
import { createPrivateKey, type KeyObject, randomUUID } from "node:crypto";
import * as jose from "jose";
import { MERCURE_DETAIL_TYPE } from "./authorization-details.ts";
import { ConfigError } from "./errors.ts";
import {
  checkAlgorithmName,
  checkKeyMatchesAlgorithm,
  defaultAlgorithmFor,
  hmacSecretBytes,
  isHmacAlgorithm,
  looksLikePem,
} from "./keys.ts";
import { ACCESS_TOKEN_TYPE } from "./profile.ts";

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export interface MintOptions {
  issuer: string;
  audience: string | string[];
  /** An HMAC secret, or a private key PEM (PKCS#8; PKCS#1 RSA and SEC1 EC keys are also read). */
  key: string;
  /** Defaults to HS256 for a secret and to the key type's algorithm for a PEM key. */
  alg?: string;
  /** Exact topics granted `publish`. */
  publish?: readonly string[];
  /** Exact topics granted `subscribe`. */
  subscribe?: readonly string[];
  /** URL patterns granted `publish`. */
  publishUrlPattern?: readonly string[];
  /** URL patterns granted `subscribe`. */
  subscribeUrlPattern?: readonly string[];
  /** A JSON object attached to the subscribe detail. */
  payload?: unknown;
  ttlSeconds?: number;
  /** Defaults to a fresh `urn:uuid:`. */
  subject?: string;
  /** Further claims; they may not replace the claims set here. */
  extraClaims?: Record<string, unknown>;
  now?: () => number;
}

const RESERVED_CLAIMS = ["iss", "aud", "sub", "client_id", "iat", "exp", "jti", "authorization_details"];

export async function mintToken(options: MintOptions): Promise<string> {
  if (typeof options.issuer !== "string" || options.issuer === "")
    throw new TypeError("issuer must be a non-empty string");
  const ttl = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (!Number.isFinite(ttl) || ttl <= 0) throw new TypeError("ttlSeconds must be a positive number");
  if (options.payload !== undefined && !isJsonObject(options.payload)) {
    throw new TypeError("payload must be a JSON object");
  }
  for (const claim of Object.keys(options.extraClaims ?? {})) {
    if (RESERVED_CLAIMS.includes(claim))
      throw new TypeError(`extraClaims may not set ${claim}; use the option instead`);
  }
  const { alg, key } = signingKey(options.key, options.alg);
  const iat = Math.floor((options.now ?? Date.now)() / 1000);

  const details: Record<string, unknown>[] = [];
  const publishTopics = topics(options.publish, options.publishUrlPattern);
  if (publishTopics.length > 0) {
    details.push({ type: MERCURE_DETAIL_TYPE, actions: ["publish"], topics: publishTopics });
  }
  const subscribeTopics = topics(options.subscribe, options.subscribeUrlPattern);
  if (subscribeTopics.length > 0) {
    const detail: Record<string, unknown> = {
      type: MERCURE_DETAIL_TYPE,
      actions: ["subscribe"],
      topics: subscribeTopics,
    };
    if (options.payload !== undefined) detail["payload"] = options.payload;
    details.push(detail);
  }

  return new jose.SignJWT({
    ...options.extraClaims,
    client_id: options.issuer,
    authorization_details: details,
  })
    .setProtectedHeader({ alg, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setSubject(options.subject ?? `urn:uuid:${randomUUID()}`)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.ceil(ttl))
    .setJti(`urn:uuid:${randomUUID()}`)
    .sign(key);
}

function topics(exact: readonly string[] | undefined, patterns: readonly string[] | undefined): object[] {
  return [
    ...(exact ?? []).map((match) => ({ match })),
    ...(patterns ?? []).map((match) => ({ match, match_type: "urlpattern" })),
  ];
}

function signingKey(
  material: string,
  requested: string | undefined,
): { alg: string; key: KeyObject | Uint8Array } {
  if (typeof material !== "string") throw new TypeError("key must be a string");
  const alg = requested === undefined ? undefined : checkAlgorithmName(requested, "alg");
  if (!looksLikePem(material)) {
    const hmac = alg ?? "HS256";
    if (!isHmacAlgorithm(hmac)) {
      throw new ConfigError(
        "asymmetric_alg_without_pem",
        `alg ${hmac} needs a private key PEM, but key is not a PEM; use HS256, HS384 or HS512 with a secret`,
      );
    }
    return { alg: hmac, key: hmacSecretBytes(material, hmac, "key") };
  }
  if (alg !== undefined && isHmacAlgorithm(alg)) {
    throw new ConfigError("hmac_alg_with_pem", `alg ${alg} is an HMAC algorithm but key is a PEM`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: material, format: "pem" });
  } catch (error) {
    throw new ConfigError(
      "pem_malformed",
      `key: the private key PEM could not be read (${(error as Error).message}); give a "-----BEGIN PRIVATE KEY-----" block`,
    );
  }
  const chosen = alg ?? defaultAlgorithmFor(key, "key");
  checkKeyMatchesAlgorithm(key, chosen, "key");
  return { alg: chosen, key };
}

function isJsonObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
