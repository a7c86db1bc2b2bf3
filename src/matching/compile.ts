import { hasForbiddenCharacter } from "../protocol/characters.ts";
import { InvalidMatcherError, LEGACY_TOPIC, type MatcherType, type TopicMatcher } from "./matcher.ts";
import { compileUriTemplate } from "./uri-template/compile.ts";
import { compileUrlPattern } from "./urlpattern/compile.ts";

export interface MatcherLimits {
  /** Longest pattern accepted, in UTF-16 code units. */
  maxPatternLength: number;
}

/** The default of `maxPatternLength`, for subscriptions and tokens alike. */
export const DEFAULT_MAX_PATTERN_LENGTH = 2048;

/** The reserved value that matches every topic, whatever the matcher type. */
export const WILDCARD = "*";

const everything: TopicMatcher["matches"] = () => true;

/**
 * Builds a matcher, validating the pattern. Relative URL Patterns (and relative topics tested
 * against them) resolve against `baseUrl`, the hub's URL. Exact patterns and legacy selectors are
 * never resolved: the old protocol compared topics as strings.
 */
export function compileMatcher(
  type: MatcherType,
  pattern: string,
  baseUrl: string,
  limits: MatcherLimits,
): TopicMatcher {
  if (pattern.length > limits.maxPatternLength) {
    throw new InvalidMatcherError(
      "matcher_too_long",
      `a matcher is ${pattern.length} characters long; the limit (maxPatternLength) is ${limits.maxPatternLength}`,
    );
  }
  if (hasForbiddenCharacter(pattern) || !pattern.isWellFormed()) {
    throw new InvalidMatcherError(
      "matcher_characters",
      "a matcher contains a control character, a Unicode format character or invalid UTF-8",
    );
  }
  if (pattern === WILDCARD) {
    return { type, pattern, wildcard: true, literal: false, instructions: 0, matches: everything };
  }
  if (type === "exact" || (type === LEGACY_TOPIC && !pattern.includes("{"))) {
    return {
      type,
      pattern,
      wildcard: false,
      literal: true,
      instructions: 0,
      matches: (topic) => topic === pattern,
    };
  }
  if (type === LEGACY_TOPIC) {
    // As the old hub did, a template also matches its own text, so that a token granting
    // `…/books/{id}` covers a subscription to `…/books/{id}` (payloads, subscription events).
    const template = compileUriTemplate(pattern);
    return {
      type,
      pattern,
      wildcard: false,
      literal: false,
      instructions: template.programSize,
      matches: (topic) => topic === pattern || template.test(topic),
    };
  }
  const program = compileUrlPattern(pattern, baseUrl);
  const route = program.route();
  return {
    type,
    pattern,
    wildcard: false,
    literal: false,
    instructions: program.programSize,
    ...(route === undefined ? {} : { route }),
    matches: (topic) => program.test(topic),
  };
}
