/**
 * A token profile: which claims a verified JWT must carry and how they become grants. There is
 * one per dialect: draft-08 access tokens, and the legacy dialect's relaxed tokens.
 */
import type * as jose from "jose";
import {
  type AuthorizationDetailsGrants,
  type AuthorizationDetailsLimits,
  parseAuthorizationDetails,
} from "./authorization-details.ts";
import type { Dialect } from "./grants.ts";
import { parseLegacyClaim } from "./legacy-claim.ts";
import type { MatcherCompiler } from "./matcher-interner.ts";

export interface ProfileContext {
  /** The configured issuer whose key material verifies the token (none for legacy keys). */
  readonly issuer: string | undefined;
  readonly resourceIdentifier: string;
  /** The hub's URL, for relative URL patterns. */
  readonly baseUrl: string;
  readonly limits: AuthorizationDetailsLimits;
  /** Builds the grants' matchers (shared between tokens, see matcher-interner.ts). */
  readonly compile: MatcherCompiler;
}

/** The claim checks a profile asks jose to enforce (signature, alg and time checks are common). */
export type ProfileClaimChecks = Pick<
  jose.JWTVerifyOptions,
  "typ" | "audience" | "issuer" | "requiredClaims"
>;

export interface TokenProfile {
  readonly dialect: Dialect;
  claimChecks(context: ProfileContext): ProfileClaimChecks;
  /** Turns verified claims into grants; throws `InvalidTokenError` when they are malformed. */
  grants(payload: jose.JWTPayload, context: ProfileContext): AuthorizationDetailsGrants;
}

/** The `typ` of a draft-08 access token (RFC 9068 section 2.1), which the hub requires and mints. */
export const ACCESS_TOKEN_TYPE = "at+jwt";

/**
 * draft-dunglas-mercure-08, "Token Validation": `typ` is `at+jwt` (jose compares it without the
 * `application/` prefix and case-insensitively, RFC 7515 section 4.1.9), `aud` contains the
 * resource identifier (string or array), `iss` is the configured issuer, `exp` is required.
 * `sub`, `client_id`, `iat` and `jti` are issuer obligations the hub does not enforce.
 */
export const DRAFT_08_PROFILE: TokenProfile = Object.freeze({
  dialect: "modern",
  claimChecks(context: ProfileContext): ProfileClaimChecks {
    return {
      typ: ACCESS_TOKEN_TYPE,
      audience: context.resourceIdentifier,
      issuer: context.issuer,
      requiredClaims: ["exp", "iss"],
    };
  },
  grants(payload: jose.JWTPayload, context: ProfileContext): AuthorizationDetailsGrants {
    return parseAuthorizationDetails(
      payload["authorization_details"],
      context.baseUrl,
      context.limits,
      context.compile,
    );
  },
});

/**
 * The legacy dialect's tokens (hub 0.x): any `typ`, no `aud` or `iss` required, `exp` and `nbf`
 * enforced only when present (jose checks them whenever they are there). What stays strict is
 * what protects the hub: the signature, the algorithm allowlist of the configured key, and the
 * size and shape of the claim.
 */
export const LEGACY_PROFILE: TokenProfile = Object.freeze({
  dialect: "legacy",
  claimChecks(): ProfileClaimChecks {
    return {};
  },
  grants(payload: jose.JWTPayload, context: ProfileContext): AuthorizationDetailsGrants {
    return parseLegacyClaim(payload, context.limits, context.compile);
  },
});
