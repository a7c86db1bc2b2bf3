/**
 * The two failures of the auth layer: a configuration the hub must refuse to start with, and a
 * presented token that must be refused (401 `invalid_token`).
 */

import { QuicksilverError } from "../protocol/quicksilver-error.ts";

/** Stable codes of `ConfigError`; branch on these, never on the message. */
export const CONFIG_ERROR_CODES = [
  "issuer_missing",
  "issuer_duplicate",
  "issuer_without_keys",
  "key_missing",
  "key_and_jwks_uri",
  "alg_none",
  "alg_unknown",
  "alg_and_algorithms",
  "algorithms_empty",
  "hmac_alg_with_pem",
  "asymmetric_alg_without_pem",
  "alg_key_mismatch",
  "secret_empty",
  "secret_too_short",
  "pem_malformed",
  "pem_private_key",
  "key_unsupported",
  "key_too_weak",
  "jwks_uri_invalid",
  "jwks_symmetric_alg",
  "jwks_option_invalid",
  "resource_identifier_missing",
  "base_url_invalid",
  "limit_invalid",
  "clock_tolerance_invalid",
  "cache_option_invalid",
] as const;

export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/** A verification configuration that cannot be used; the message says what to fix. */
export class ConfigError extends QuicksilverError {
  readonly code: ConfigErrorCode;
  constructor(code: ConfigErrorCode, message: string) {
    super(message);
    this.name = "ConfigError";
    this.code = code;
  }
}

/** Stable codes of `InvalidTokenError`, the first word of its `reason`. */
export const INVALID_TOKEN_CODES = [
  "token_too_large",
  "token_malformed",
  "token_noncanonical",
  "header_forbidden",
  "issuer_missing",
  "issuer_unknown",
  "role_not_configured",
  "verification_failed",
  "authorization_details_invalid",
  "authorization_details_limit",
  "legacy_claim_invalid",
] as const;

export type InvalidTokenCode = (typeof INVALID_TOKEN_CODES)[number];

/**
 * A presented token that must be refused with `401 error="invalid_token"`. `reason` says why and
 * is for the logs only: never send it to the client (RFC 6750; the draft, "Error Responses",
 * avoids disclosing why validation failed).
 */
export class InvalidTokenError extends QuicksilverError {
  readonly code: InvalidTokenCode;
  readonly reason: string;
  constructor(code: InvalidTokenCode, detail: string, options?: { cause?: unknown }) {
    super("invalid token", options);
    this.name = "InvalidTokenError";
    this.code = code;
    this.reason = `${code}: ${detail}`;
  }
}
