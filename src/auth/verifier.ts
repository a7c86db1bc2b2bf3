/**
 * Verifies access tokens per the draft ("Token Validation") and turns them into grants.
 *
 * The order matters: bound the size first (CWE-400), check the token's shape strictly (one
 * spelling per token, see jws-shape.ts), read `iss` from the unverified payload only
 * to pick that issuer's key material for the role (never a pool spanning issuers, or issuer A's
 * key would vouch for a token claiming issuer B), then let jose check the signature with exactly
 * that material's algorithms, then `typ`, `aud`, `iss`, `exp` and `nbf`.
 *
 * With the legacy dialect on, a token without `authorization_details` is a legacy token: its
 * material is the configured issuer its `iss` names, else the legacy keys (the old hub had one
 * key per role and no issuers), and it is checked under the relaxed legacy profile. A token with
 * `authorization_details` is always held to draft-08, so no modern token gets the relaxed checks.
 */
import * as jose from "jose";
import {
  type AuthorizationDetailsLimits,
  DEFAULT_AUTHORIZATION_DETAILS_LIMITS,
} from "./authorization-details.ts";
import { DEFAULT_CACHE_MAX_AGE_MS, DEFAULT_MAX_CACHED_TOKENS, VerifiedTokenCache } from "./cache.ts";
import { ConfigError, InvalidTokenError } from "./errors.ts";
import type { Grants } from "./grants.ts";
import { checkJwsShape } from "./jws-shape.ts";
import {
  type IssuerConfig,
  type JwksOptions,
  loadKeyMaterial,
  ROLES,
  type Role,
  type VerificationMaterial,
} from "./keys.ts";
import { MatcherInterner } from "./matcher-interner.ts";
import { DRAFT_08_PROFILE, LEGACY_PROFILE, type ProfileContext } from "./profile.ts";

export type { ConfigErrorCode, InvalidTokenCode } from "./errors.ts";
export type { IssuerConfig, KeyConfig, Role } from "./keys.ts";
export { ConfigError, InvalidTokenError };

export interface VerifierLimits extends AuthorizationDetailsLimits {
  /** Longest token accepted, in bytes; checked before anything is decoded. */
  maxTokenBytes: number;
}

export const DEFAULT_VERIFIER_LIMITS: Readonly<VerifierLimits> = Object.freeze({
  maxTokenBytes: 16 * 1024,
  ...DEFAULT_AUTHORIZATION_DETAILS_LIMITS,
});

/**
 * Accepted clock skew between the issuer and the hub when checking `exp` and `nbf`: 5 seconds.
 * Small on purpose: it only absorbs NTP-level drift, it is not a grace period for expired tokens.
 */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;

export interface VerifierOptions {
  issuers: readonly IssuerConfig[];
  /** The hub's resource identifier, which the token's `aud` must contain. */
  resourceIdentifier: string;
  /** The hub URL, for relative URL patterns. */
  baseUrl: string;
  limits: VerifierLimits;
  /** Current time in ms since the epoch; `Date.now` unless testing. */
  now?: () => number;
  /** Clock skew allowed on `exp`/`nbf`, in seconds; `DEFAULT_CLOCK_TOLERANCE_SECONDS` (5) by default. */
  clockToleranceSeconds?: number;
  jwks?: JwksOptions;
  /** The verified-token cache: `maxEntries` (default 10 000, 0 disables) and `maxAgeMs` (default 60 s). */
  cache?: { maxEntries?: number; maxAgeMs?: number };
  /**
   * The legacy dialect: when set, a token without `authorization_details` is verified under the
   * relaxed legacy profile (a `mercure` claim; any `typ`; no `aud` or `iss` required; `exp`
   * enforced when present).
   */
  legacy?: LegacyVerifierOptions;
}

export interface LegacyVerifierOptions {
  /**
   * Key material for legacy tokens whose `iss` names no configured issuer (most carry no `iss`):
   * the old hub's single publisher and subscriber keys. Without it, the only configured issuer's
   * material is used when there is exactly one.
   */
  readonly keys?: Pick<IssuerConfig, "publisher" | "subscriber">;
}

export interface TokenVerifier {
  /** Resolves the token's grants or rejects with `InvalidTokenError`. */
  verify(token: string, role: Role): Promise<Grants>;
}

/**
 * Header parameters that bring key material or extensions with the token. Keys come only from
 * configuration (draft, "Token Validation"; RFC 8725 section 3.10), and no `crit` extension is
 * understood, so a token carrying any of them is refused outright rather than half-honoured.
 */
const FORBIDDEN_HEADERS = ["jwk", "jku", "x5u", "x5c", "crit"] as const;

type IssuerMaterial = Partial<Record<Role, VerificationMaterial>>;

/** Validates the configuration (throwing `ConfigError`), prepares keys and returns a verifier. */
export async function createVerifier(options: VerifierOptions): Promise<TokenVerifier> {
  const now = options.now ?? Date.now;
  checkOptions(options);
  const clockTolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const issuers = new Map<string, IssuerMaterial>();
  for (let index = 0; index < options.issuers.length; index++) {
    const config = options.issuers[index] as IssuerConfig;
    const where = `issuers[${index}]`;
    if (typeof config.issuer !== "string" || config.issuer === "") {
      throw new ConfigError("issuer_missing", `${where}.issuer must be a non-empty string (the tokens' iss)`);
    }
    if (issuers.has(config.issuer)) {
      throw new ConfigError(
        "issuer_duplicate",
        `${where}: issuer ${JSON.stringify(config.issuer)} is configured twice; merge the two entries`,
      );
    }
    if (config.publisher === undefined && config.subscriber === undefined) {
      throw new ConfigError(
        "issuer_without_keys",
        `${where}: issuer ${JSON.stringify(config.issuer)} has neither publisher nor subscriber keys`,
      );
    }
    const material: IssuerMaterial = {};
    for (const role of ROLES) {
      const keyConfig = config[role];
      if (keyConfig !== undefined) {
        material[role] = await loadKeyMaterial(keyConfig, `${where}.${role}`, options.jwks ?? {}, now);
      }
    }
    issuers.set(config.issuer, material);
  }
  const legacyMaterial =
    options.legacy === undefined ? undefined : await legacyKeyMaterial(options, issuers, now);
  const limits: VerifierLimits = { ...options.limits };
  const cache = new VerifiedTokenCache<Grants>({
    maxEntries: options.cache?.maxEntries ?? DEFAULT_MAX_CACHED_TOKENS,
    maxAgeMs: options.cache?.maxAgeMs ?? DEFAULT_CACHE_MAX_AGE_MS,
    now,
  });
  // Cached tokens (and open streams) granting the same topics share their compiled matchers.
  const matchers = new MatcherInterner();
  async function verify(token: string, role: Role): Promise<Grants> {
    if (typeof token !== "string")
      throw new InvalidTokenError("token_malformed", "the token is not a string");
    // Every valid token is ASCII, so its length in UTF-16 units bounds its size in bytes.
    if (token.length > limits.maxTokenBytes) {
      throw new InvalidTokenError(
        "token_too_large",
        `the token is ${token.length} bytes long; the limit (maxTokenBytes) is ${limits.maxTokenBytes}`,
      );
    }
    // A token found in the cache is one that passed every check below (the same string, so the
    // same spelling: a variant spelled otherwise is another key, and is checked below).
    const cacheKey = `${role} ${token}`;
    const cached = cache.get(cacheKey);
    if (cached !== undefined) return cached;
    // Before anything reads the token: one token, one spelling.
    checkJwsShape(token);

    const { header, claims } = peek(token);
    for (const name of FORBIDDEN_HEADERS) {
      if (Object.hasOwn(header, name)) {
        throw new InvalidTokenError("header_forbidden", `the token header carries "${name}"`);
      }
    }
    const iss = typeof claims.iss === "string" ? claims.iss : undefined;
    const profile =
      options.legacy !== undefined && !Object.hasOwn(claims, "authorization_details")
        ? LEGACY_PROFILE
        : DRAFT_08_PROFILE;
    let material = iss === undefined ? undefined : issuers.get(iss);
    let verifiedIssuer = iss;
    if (profile === LEGACY_PROFILE && material === undefined) {
      material = legacyMaterial;
      verifiedIssuer = undefined;
    }
    if (iss === undefined && profile === DRAFT_08_PROFILE) {
      throw new InvalidTokenError("issuer_missing", "the token has no string iss");
    }
    if (material === undefined) {
      throw new InvalidTokenError("issuer_unknown", `iss ${JSON.stringify(iss)} is not a configured issuer`);
    }
    const keys = material[role];
    if (keys === undefined) {
      throw new InvalidTokenError(
        "role_not_configured",
        `${verifiedIssuer === undefined ? "the legacy keys have" : `issuer ${JSON.stringify(iss)} has`} no ${role} key`,
      );
    }
    const context: ProfileContext = {
      issuer: verifiedIssuer,
      resourceIdentifier: options.resourceIdentifier,
      baseUrl: options.baseUrl,
      limits,
      compile: matchers.compile,
    };
    let payload: jose.JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(token, keys.resolve, {
        ...profile.claimChecks(context),
        algorithms: [...keys.algorithms],
        currentDate: new Date(now()),
        clockTolerance,
      }));
    } catch (error) {
      throw new InvalidTokenError("verification_failed", describeJoseError(error), { cause: error });
    }
    const { publish, subscribe } = profile.grants(payload, context);
    const expiresAt = typeof payload.exp === "number" ? payload.exp * 1000 : undefined;
    const grants: Grants = Object.freeze({
      dialect: profile.dialect,
      publish,
      subscribe,
      expiresAt,
      issuer: iss,
      subject: typeof payload.sub === "string" ? payload.sub : undefined,
    });
    cache.set(cacheKey, grants, expiresAt);
    return grants;
  }

  return Object.freeze({ verify });
}

/**
 * The material for legacy tokens that name no configured issuer: the legacy keys when given,
 * else the only configured issuer's; none when several issuers leave the choice open (legacy
 * tokens must then carry the `iss` of one of them).
 */
async function legacyKeyMaterial(
  options: VerifierOptions,
  issuers: ReadonlyMap<string, IssuerMaterial>,
  now: () => number,
): Promise<IssuerMaterial | undefined> {
  const keys = options.legacy?.keys;
  if (keys === undefined) return issuers.size === 1 ? [...issuers.values()][0] : undefined;
  const material: IssuerMaterial = {};
  for (const role of ROLES) {
    const keyConfig = keys[role];
    if (keyConfig !== undefined) {
      material[role] = await loadKeyMaterial(keyConfig, `legacy.keys.${role}`, options.jwks ?? {}, now);
    }
  }
  return material;
}

function checkOptions(options: VerifierOptions): void {
  if (typeof options.resourceIdentifier !== "string" || options.resourceIdentifier === "") {
    throw new ConfigError(
      "resource_identifier_missing",
      "resourceIdentifier must be the hub's resource identifier (its URL, e.g. https://hub.example.com/.well-known/mercure)",
    );
  }
  if (typeof options.baseUrl !== "string" || !URL.canParse(options.baseUrl)) {
    throw new ConfigError(
      "base_url_invalid",
      `baseUrl ${JSON.stringify(options.baseUrl)} must be an absolute URL`,
    );
  }
  for (const name of [
    "maxTokenBytes",
    "maxAuthorizationDetails",
    "maxTopicsPerDetail",
    "maxPatternLength",
    "maxPayloadDepth",
  ] as const) {
    const value = options.limits?.[name];
    if (!Number.isSafeInteger(value) || (value as number) < 1) {
      throw new ConfigError("limit_invalid", `limits.${name} must be a positive integer`);
    }
  }
  const tolerance = options.clockToleranceSeconds;
  if (tolerance !== undefined && (!Number.isFinite(tolerance) || tolerance < 0)) {
    throw new ConfigError("clock_tolerance_invalid", "clockToleranceSeconds must be a non-negative number");
  }
  for (const name of ["maxEntries", "maxAgeMs"] as const) {
    const value = options.cache?.[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new ConfigError("cache_option_invalid", `cache.${name} must be a non-negative integer`);
    }
  }
}

/** Decodes header and payload without trusting them, only to choose the key material. */
function peek(token: string): { header: jose.ProtectedHeaderParameters; claims: jose.JWTPayload } {
  try {
    return { header: jose.decodeProtectedHeader(token), claims: jose.decodeJwt(token) };
  } catch (error) {
    throw new InvalidTokenError("token_malformed", `cannot decode: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function describeJoseError(error: unknown): string {
  if (error instanceof jose.errors.JOSEError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
