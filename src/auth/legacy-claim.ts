/**
 * The legacy dialect's `mercure` claim (hub 0.x): `{publish: [...], subscribe: [...], payload}`,
 * where each entry is a topic selector (`*`, an RFC 6570 URI Template, or an exact topic).
 *
 * The claim may also be spelled `https://mercure.rocks/` (a namespaced claim name, which the old
 * hub preferred when both were present). The top-level `payload` applies to every subscription
 * of the token, as it did there. A malformed claim invalidates the whole token, as a malformed
 * authorization detail does: acting on part of it would silently change what it allows.
 */
import { compileMatcher } from "../matching/compile.ts";
import { LEGACY_TOPIC, type TopicMatcher } from "../matching/matcher.ts";
import {
  type AuthorizationDetailsGrants,
  type AuthorizationDetailsLimits,
  deepFreeze,
  isJsonObject,
  nestingExceeds,
} from "./authorization-details.ts";
import { InvalidTokenError } from "./errors.ts";
import type { MatcherCompiler } from "./matcher-interner.ts";

export const LEGACY_CLAIM = "mercure";
export const LEGACY_NAMESPACED_CLAIM = "https://mercure.rocks/";

/**
 * The grants of a legacy token. An absent claim grants nothing; the subscribe grant is always
 * there (possibly without selectors) because it carries the payload.
 */
export function parseLegacyClaim(
  payload: Readonly<Record<string, unknown>>,
  limits: AuthorizationDetailsLimits,
  compile: MatcherCompiler = compileMatcher,
): AuthorizationDetailsGrants {
  const name = Object.hasOwn(payload, LEGACY_NAMESPACED_CLAIM) ? LEGACY_NAMESPACED_CLAIM : LEGACY_CLAIM;
  const claim = payload[name];
  if (claim === undefined || claim === null) {
    return Object.freeze({ publish: [], subscribe: [Object.freeze({ matchers: [], payload: undefined })] });
  }
  if (!isJsonObject(claim)) throw invalid(`the ${name} claim is not an object`);
  const publish = selectors(claim["publish"], `${name}.publish`, limits, compile);
  const matchers = selectors(claim["subscribe"], `${name}.subscribe`, limits, compile);
  if (nestingExceeds(claim["payload"], limits.maxPayloadDepth)) {
    throw invalid(`${name}.payload nests deeper than ${limits.maxPayloadDepth} (maxPayloadDepth)`);
  }
  const grantPayload = claim["payload"] === null ? undefined : deepFreeze(claim["payload"]);
  return Object.freeze({
    publish,
    subscribe: Object.freeze([Object.freeze({ matchers, payload: grantPayload })]),
  });
}

function selectors(
  value: unknown,
  where: string,
  limits: AuthorizationDetailsLimits,
  compile: MatcherCompiler,
): readonly TopicMatcher[] {
  // The old hub decoded an absent list and `null` alike: no selector.
  if (value === undefined || value === null) return Object.freeze([]);
  if (!Array.isArray(value)) throw invalid(`${where} is not an array of topic selectors`);
  if (value.length > limits.maxTopicsPerDetail) {
    throw invalid(
      `${where} has ${value.length} selectors; the limit (maxTopicsPerDetail) is ${limits.maxTopicsPerDetail}`,
    );
  }
  const matchers: TopicMatcher[] = [];
  for (let index = 0; index < value.length; index++) {
    const selector: unknown = value[index];
    if (typeof selector !== "string") throw invalid(`${where}[${index}] is not a string`);
    try {
      // Selectors are compared with topics as strings: the base URL is never used for them.
      matchers.push(compile(LEGACY_TOPIC, selector, "http://hub.invalid/", limits));
    } catch (error) {
      throw invalid(`${where}[${index}] is not a valid topic selector: ${(error as Error).message}`, error);
    }
  }
  return Object.freeze(matchers);
}

function invalid(detail: string, cause?: unknown): InvalidTokenError {
  return new InvalidTokenError("legacy_claim_invalid", detail, cause === undefined ? undefined : { cause });
}
