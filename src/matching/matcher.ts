/**
 * A topic matcher: a type and a pattern, answering "does this topic match".
 *
 * Matchers are built once (when a subscription or a token is accepted) and then only asked
 * `matches`. Building validates the pattern and throws an `InvalidMatcherError` with a stable
 * code; matching never throws.
 */
import { QuicksilverError } from "../protocol/quicksilver-error.ts";

export const MATCH_TYPES = ["exact", "urlpattern"] as const;
/** The draft's matcher types. */
export type MatchType = (typeof MATCH_TYPES)[number];

/**
 * The legacy dialect's topic selector (`topic=`, the `mercure` claim): `*`, an RFC 6570 URI
 * Template when it contains `{`, an exact topic otherwise.
 */
export const LEGACY_TOPIC = "topic";
export type MatcherType = MatchType | typeof LEGACY_TOPIC;

/**
 * Where a matcher's topics are, for an index of many matchers: every topic the matcher matches,
 * parsed as a URL against `baseUrl`, has this host, and a path that begins with `pathPrefix`.
 */
export interface TopicRoute {
  readonly baseUrl: string;
  readonly hostname: string;
  readonly pathPrefix: string;
}

export interface TopicMatcher {
  readonly type: MatcherType;
  /** The pattern exactly as the client gave it. */
  readonly pattern: string;
  /** True for the reserved `*`, which matches every topic whatever the type. */
  readonly wildcard: boolean;
  /** True when the matcher matches its pattern and nothing else, so it can be looked up by topic. */
  readonly literal: boolean;
  /** Set when the matcher's topics all share a host and a beginning of path (see TopicRoute). */
  readonly route?: TopicRoute;
  /**
   * Instructions of the automata `matches` runs (0 for a string comparison): testing a topic
   * costs at most its length times about four times this many steps.
   */
  readonly instructions: number;
  matches(topic: string): boolean;
}

/** Stable codes of `InvalidMatcherError`; each is also the problem code a refused subscription gets. */
export const INVALID_MATCHER_CODES = [
  "matcher_characters",
  "matcher_too_long",
  "urlpattern_syntax",
  "urlpattern_unsupported",
  "uritemplate_syntax",
  "uritemplate_unsupported",
] as const;

export type InvalidMatcherCode = (typeof INVALID_MATCHER_CODES)[number];

/** A pattern that cannot be a matcher; the message says why. */
export class InvalidMatcherError extends QuicksilverError {
  readonly code: InvalidMatcherCode;
  constructor(code: InvalidMatcherCode, message: string) {
    super(message);
    this.name = "InvalidMatcherError";
    this.code = code;
  }
}

export function isMatchType(value: string): value is MatchType {
  return (MATCH_TYPES as readonly string[]).includes(value);
}
