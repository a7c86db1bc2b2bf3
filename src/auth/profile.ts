/**
 * A token profile: which claims a verified JWT must carry and how they become grants.
 *
 * This is the extension point for dialects. Only the draft-08 profile exists (RFC 9068 access
 * tokens with `authorization_details`). A later "legacy" profile (a `mercure` claim, any `typ`,
 * no `aud`/`iss` required) would be another `TokenProfile` chosen per issuer; it would also have
 * to pick key material without an `iss`, which the verifier currently requires before this step.
 */
import type * as jose from "jose";
import {
  type AuthorizationDetailsGrants,
  type AuthorizationDetailsLimits,
  parseAuthorizationDetails,
} from "./authorization-details.ts";

export interface ProfileContext {
  /** The configured issuer whose key material verifies the token. */
  readonly issuer: string;
  readonly resourceIdentifier: string;
  /** The hub's URL, for relative URL patterns. */
  readonly baseUrl: string;
  readonly limits: AuthorizationDetailsLimits;
}

/** The claim checks a profile asks jose to enforce (signature, alg and time checks are common). */
export type ProfileClaimChecks = Pick<
  jose.JWTVerifyOptions,
  "typ" | "audience" | "issuer" | "requiredClaims"
>;

export interface TokenProfile {
  readonly name: string;
  claimChecks(context: ProfileContext): ProfileClaimChecks;
  /** Turns verified claims into grants; throws `InvalidTokenError` when they are malformed. */
  grants(payload: jose.JWTPayload, context: ProfileContext): AuthorizationDetailsGrants;
}

/**
 * draft-dunglas-mercure-08, "Token Validation": `typ` is `at+jwt` (jose compares it without the
 * `application/` prefix and case-insensitively, RFC 7515 section 4.1.9), `aud` contains the
 * resource identifier (string or array), `iss` is the configured issuer, `exp` is required.
 * `sub`, `client_id`, `iat` and `jti` are issuer obligations the hub does not enforce.
 */
export const DRAFT_08_PROFILE: TokenProfile = Object.freeze({
  name: "draft-08",
  claimChecks(context: ProfileContext): ProfileClaimChecks {
    return {
      typ: "at+jwt",
      audience: context.resourceIdentifier,
      issuer: context.issuer,
      requiredClaims: ["exp"],
    };
  },
  grants(payload: jose.JWTPayload, context: ProfileContext): AuthorizationDetailsGrants {
    return parseAuthorizationDetails(payload["authorization_details"], context.baseUrl, context.limits);
  },
});
