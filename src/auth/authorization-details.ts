/**
 * Parses the `authorization_details` claim (RFC 9396) into grants, strictly per the draft
 * ("Authorization Details", "Topic Matcher List", "Payloads").
 *
 * Any malformed Mercure detail invalidates the whole token: acting on the remaining entries
 * would silently change what the token allows. Details of other types are ignored. Unknown
 * actions grant nothing (so future actions do not break deployed hubs), but an unknown
 * `match_type` invalidates the token: a grant that cannot be evaluated must fail loudly.
 */
import { compileMatcher, DEFAULT_MAX_PATTERN_LENGTH } from "../matching/compile.ts";
import { isMatchType, type MatchType, type TopicMatcher } from "../matching/matcher.ts";
import { InvalidTokenError } from "./errors.ts";
import type { SubscribeGrant } from "./grants.ts";
import type { MatcherCompiler } from "./matcher-interner.ts";

export const MERCURE_DETAIL_TYPE = "https://mercure.rocks/authorization-detail";

export interface AuthorizationDetailsLimits {
  /** Most Mercure authorization details in one token (details of other types do not count). */
  maxAuthorizationDetails: number;
  /** Most entries in the `topics` array of one detail. */
  maxTopicsPerDetail: number;
  /** Longest `match` value, in UTF-16 code units. */
  maxPatternLength: number;
  /**
   * Deepest nesting of objects and arrays in a payload, the payload itself counting 1. The hub
   * serializes payloads again (subscription events, the subscription API), and JSON.stringify
   * recurses: a payload thousands deep, which fits in a token, would throw there, far from the
   * request, and take the hub down.
   */
  maxPayloadDepth: number;
}

export const DEFAULT_AUTHORIZATION_DETAILS_LIMITS: Readonly<AuthorizationDetailsLimits> = Object.freeze({
  maxAuthorizationDetails: 64,
  maxTopicsPerDetail: 256,
  maxPatternLength: DEFAULT_MAX_PATTERN_LENGTH,
  maxPayloadDepth: 32,
});

export interface AuthorizationDetailsGrants {
  readonly publish: readonly TopicMatcher[];
  readonly subscribe: readonly SubscribeGrant[];
}

const NO_GRANTS: AuthorizationDetailsGrants = Object.freeze({
  publish: Object.freeze([]),
  subscribe: Object.freeze([]),
});

/**
 * Turns the claim into publish matchers and subscribe grants. An absent claim grants nothing.
 * Throws `InvalidTokenError` (code `authorization_details_invalid` or
 * `authorization_details_limit`) with a reason for the logs.
 *
 * @param baseUrl The hub's URL, against which relative URL patterns resolve.
 * @param compile Builds the matchers: the verifier passes its `MatcherInterner`'s, so that
 *   tokens granting the same topics share them.
 */
export function parseAuthorizationDetails(
  claim: unknown,
  baseUrl: string,
  limits: AuthorizationDetailsLimits,
  compile: MatcherCompiler = compileMatcher,
): AuthorizationDetailsGrants {
  if (claim === undefined) return NO_GRANTS;
  if (!Array.isArray(claim)) throw invalid("the claim is not an array");
  const publish: TopicMatcher[] = [];
  const subscribe: SubscribeGrant[] = [];
  let mercureDetails = 0;
  for (let index = 0; index < claim.length; index++) {
    const detail: unknown = claim[index];
    const where = `authorization_details[${index}]`;
    if (!isJsonObject(detail)) throw invalid(`${where} is not an object`);
    // RFC 9396 section 2: `type` is required in every detail, Mercure or not.
    if (typeof detail["type"] !== "string") throw invalid(`${where}.type is not a string`);
    if (detail["type"] !== MERCURE_DETAIL_TYPE) continue;
    mercureDetails++;
    if (mercureDetails > limits.maxAuthorizationDetails) {
      throw new InvalidTokenError(
        "authorization_details_limit",
        `more than ${limits.maxAuthorizationDetails} Mercure authorization details (maxAuthorizationDetails)`,
      );
    }
    const actions = parseActions(detail["actions"], where);
    const matchers = parseTopics(detail["topics"], where, baseUrl, limits, compile);
    let payload: unknown;
    if (Object.hasOwn(detail, "payload")) {
      if (!isJsonObject(detail["payload"])) throw invalid(`${where}.payload is not a JSON object`);
      if (nestingExceeds(detail["payload"], limits.maxPayloadDepth)) {
        throw new InvalidTokenError(
          "authorization_details_limit",
          `${where}.payload nests deeper than ${limits.maxPayloadDepth} (maxPayloadDepth)`,
        );
      }
      payload = deepFreeze(detail["payload"]);
    }
    if (actions.has("publish")) publish.push(...matchers);
    if (actions.has("subscribe")) subscribe.push(Object.freeze({ matchers, payload }));
  }
  return Object.freeze({ publish: Object.freeze(publish), subscribe: Object.freeze(subscribe) });
}

/** The recognized actions among `actions`; unknown strings are ignored, anything else is invalid. */
function parseActions(value: unknown, where: string): Set<string> {
  if (!Array.isArray(value) || value.length === 0) throw invalid(`${where}.actions is not a non-empty array`);
  const actions = new Set<string>();
  for (let index = 0; index < value.length; index++) {
    const action: unknown = value[index];
    if (typeof action !== "string") throw invalid(`${where}.actions[${index}] is not a string`);
    actions.add(action);
  }
  return actions;
}

function parseTopics(
  value: unknown,
  where: string,
  baseUrl: string,
  limits: AuthorizationDetailsLimits,
  compile: MatcherCompiler,
): readonly TopicMatcher[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid(`${where}.topics is not a non-empty array`);
  if (value.length > limits.maxTopicsPerDetail) {
    throw new InvalidTokenError(
      "authorization_details_limit",
      `${where}.topics has ${value.length} entries; the limit (maxTopicsPerDetail) is ${limits.maxTopicsPerDetail}`,
    );
  }
  const matchers: TopicMatcher[] = [];
  for (let index = 0; index < value.length; index++) {
    const entry: unknown = value[index];
    const at = `${where}.topics[${index}]`;
    if (!isJsonObject(entry)) throw invalid(`${at} is not an object`);
    const match = entry["match"];
    if (typeof match !== "string") throw invalid(`${at}.match is not a string`);
    let type: MatchType = "exact";
    if (Object.hasOwn(entry, "match_type")) {
      const matchType = entry["match_type"];
      if (typeof matchType !== "string" || !isMatchType(matchType)) {
        throw invalid(`${at}.match_type ${JSON.stringify(matchType)} is not a supported matcher type`);
      }
      type = matchType;
    }
    if (match.length > limits.maxPatternLength) {
      throw new InvalidTokenError(
        "authorization_details_limit",
        `${at}.match is ${match.length} characters long; the limit (maxPatternLength) is ${limits.maxPatternLength}`,
      );
    }
    try {
      matchers.push(compile(type, match, baseUrl, { maxPatternLength: limits.maxPatternLength }));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw invalid(`${at}.match is not a valid ${type} matcher: ${message}`, error);
    }
  }
  return Object.freeze(matchers);
}

function invalid(detail: string, cause?: unknown): InvalidTokenError {
  return new InvalidTokenError(
    "authorization_details_invalid",
    detail,
    cause === undefined ? undefined : { cause },
  );
}

/** A JSON object: not null, not an array (JSON.parse yields no other object kinds). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Whether a parsed JSON value nests objects and arrays deeper than `maximum` (the value itself
 * counting 1). Iterative, so that the check itself cannot run out of stack.
 */
export function nestingExceeds(value: unknown, maximum: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current !== "object" || current === null) continue;
    if (depth > maximum) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
}

/** Freezes a parsed JSON value (within `maxPayloadDepth`: it recurses) and everything in it: grants are shared between requests. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
