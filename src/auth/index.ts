/** The auth layer: find the token, verify it per issuer, turn claims into grants, RFC 6750 challenges. */
export {
  type AuthorizationDetailsGrants,
  type AuthorizationDetailsLimits,
  DEFAULT_AUTHORIZATION_DETAILS_LIMITS,
  MERCURE_DETAIL_TYPE,
  parseAuthorizationDetails,
} from "./authorization-details.ts";
export { DEFAULT_CACHE_MAX_AGE_MS, DEFAULT_MAX_CACHED_TOKENS } from "./cache.ts";
export { type BearerChallengeOptions, type BearerError, bearerChallenge } from "./challenge.ts";
export {
  ConfigError,
  type ConfigErrorCode,
  type InvalidTokenCode,
  InvalidTokenError,
} from "./errors.ts";
export {
  canPublish,
  canPublishAll,
  canRead,
  type Grants,
  payloadFor,
  type SubscribeGrant,
} from "./grants.ts";
export {
  DEFAULT_JWKS_ALGORITHMS,
  DEFAULT_JWKS_CACHE_MAX_AGE_MS,
  DEFAULT_JWKS_COOLDOWN_MS,
  DEFAULT_JWKS_TIMEOUT_MS,
  type JwksOptions,
} from "./jwks.ts";
export type { IssuerConfig, KeyConfig, Role } from "./keys.ts";
export { DEFAULT_TOKEN_TTL_SECONDS, type MintOptions, mintToken } from "./mint.ts";
export { findToken, type TokenPresentation } from "./token-source.ts";
export {
  createVerifier,
  DEFAULT_CLOCK_TOLERANCE_SECONDS,
  DEFAULT_VERIFIER_LIMITS,
  type TokenVerifier,
  type VerifierLimits,
  type VerifierOptions,
} from "./verifier.ts";
