import { hasForbiddenCharacter } from "../protocol/characters.ts";
import { InvalidMatcherError, type MatchType, type TopicMatcher } from "./matcher.ts";
import { compileUrlPattern } from "./urlpattern/compile.ts";

export interface MatcherLimits {
  /** Longest pattern accepted, in UTF-16 code units. */
  maxPatternLength: number;
}

/** The reserved value that matches every topic, whatever the matcher type. */
export const WILDCARD = "*";

const everything: TopicMatcher["matches"] = () => true;

/**
 * Builds a matcher, validating the pattern. Relative URL Patterns (and relative topics tested
 * against them) resolve against `baseUrl`, the hub's URL. Exact patterns are never resolved.
 */
export function compileMatcher(
  type: MatchType,
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
  if (pattern === WILDCARD) return { type, pattern, wildcard: true, matches: everything };
  if (type === "exact") return { type, pattern, wildcard: false, matches: (topic) => topic === pattern };
  const program = compileUrlPattern(pattern, baseUrl);
  return { type, pattern, wildcard: false, matches: (topic) => program.test(topic) };
}
