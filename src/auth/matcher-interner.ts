/**
 * Compiled topic matchers shared by every token that grants the same topic.
 *
 * A URL Pattern compiles to automata of a few kilobytes, and a token within `maxTokenBytes` may
 * grant a couple of hundred of them: half a megabyte of grants for 16 KiB of token. Applications
 * commonly mint a fresh token (new `jti`, `iat`) per page load, each granting the same topics,
 * and the verified-token cache keeps thousands of them: compiled per token, a user reloading a
 * page could hold gigabytes of identical automata in the hub. Shared, the cache costs about the
 * tokens' text, as its bound (a number of tokens) assumes.
 *
 * Matchers are immutable (built once, then only asked `matches`), so sharing them is safe. They
 * are held weakly: a matcher no cached token or open stream uses any more is collected, and its
 * entry goes with it, so the table never outgrows the matchers in use.
 */
import { compileMatcher, type MatcherLimits } from "../matching/compile.ts";
import type { MatcherType, TopicMatcher } from "../matching/matcher.ts";

/** The signature of `compileMatcher`, which the interner's `compile` has too. */
export type MatcherCompiler = (
  type: MatcherType,
  pattern: string,
  baseUrl: string,
  limits: MatcherLimits,
) => TopicMatcher;

export class MatcherInterner {
  readonly #alive = new Map<string, WeakRef<TopicMatcher>>();
  readonly #collected = new FinalizationRegistry<string>((key) => {
    // The key may name a newer matcher compiled after this one was collected.
    if (this.#alive.get(key)?.deref() === undefined) this.#alive.delete(key);
  });

  /** Entries in the table (matchers alive, or collected and not yet forgotten). */
  get size(): number {
    return this.#alive.size;
  }

  /**
   * The matcher `compileMatcher` would build, shared with earlier calls for the same type, base
   * URL and pattern. Throws as `compileMatcher` does; a failure is not remembered.
   */
  readonly compile: MatcherCompiler = (type, pattern, baseUrl, limits) => {
    // Limits are checked on every call: one interner may serve callers with different limits.
    if (pattern.length > limits.maxPatternLength) return compileMatcher(type, pattern, baseUrl, limits);
    const key = `${type}\u0000${baseUrl}\u0000${pattern}`;
    const shared = this.#alive.get(key)?.deref();
    if (shared !== undefined) return shared;
    const matcher = compileMatcher(type, pattern, baseUrl, limits);
    this.#alive.set(key, new WeakRef(matcher));
    this.#collected.register(matcher, key);
    return matcher;
  };
}
