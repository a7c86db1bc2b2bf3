/**
 * The token verifier a hub's options describe. One place, so that the hub's start and
 * `quicksilver config check` load and check keys and JWK Set URLs the same way.
 */
import { createVerifier, type TokenVerifier } from "../auth/verifier.ts";
import type { HubServerConfig } from "./options.ts";

/**
 * Loads every issuer's keys (a JWK Set is fetched on first use, not here); rejects with
 * `ConfigError` for issuers or keys the verifier refuses.
 */
export function configuredVerifier(
  config: Pick<HubServerConfig, "issuers" | "tokens" | "limits" | "legacy" | "legacyKeys">,
  hubUrl: string,
  resourceIdentifier: string,
): Promise<TokenVerifier> {
  return createVerifier({
    issuers: config.issuers,
    resourceIdentifier,
    baseUrl: hubUrl,
    limits: { ...config.tokens, maxPatternLength: config.limits.maxPatternLength },
    ...(config.legacy ? { legacy: { ...(config.legacyKeys ? { keys: config.legacyKeys } : {}) } } : {}),
  });
}
