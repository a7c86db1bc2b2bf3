import type { TopicMatcher } from "../matching/matcher.ts";
import { BoundedCache } from "../matching/urlpattern/bounded-cache.ts";
import type { Connection } from "./connection.ts";

/**
 * Topics whose matching patterns are remembered. A topic published again (a dashboard's feed, a
 * job's progress) then costs a lookup instead of one evaluation per distinct pattern.
 */
export const MAX_CACHED_TOPIC_ROUTES = 10_000;

interface PatternEntry {
  readonly matcher: TopicMatcher;
  readonly connections: Set<Connection>;
}

const NO_PATTERNS: readonly PatternEntry[] = [];

/**
 * Finds the connections whose matchers select a topic without asking every connection: exact
 * topics are a Map lookup, `*` subscribers are kept apart, and each distinct URL Pattern is
 * evaluated once per topic however many connections share it, and the patterns a topic matched
 * are remembered until the set of distinct patterns changes. Patterns are keyed by type too: the
 * same text can be a URL Pattern and a legacy URI Template that match different topics.
 */
export class SubscriberIndex {
  readonly #exact = new Map<string, Set<Connection>>();
  readonly #wildcard = new Set<Connection>();
  readonly #patterns = new Map<string, PatternEntry>();
  /** Topic → the pattern entries it matches; cleared whenever a pattern comes or goes. */
  readonly #routes = new BoundedCache<string, readonly PatternEntry[]>(MAX_CACHED_TOPIC_ROUTES);

  add(connection: Connection): void {
    for (const matcher of connection.matchers) {
      if (matcher.wildcard) {
        this.#wildcard.add(connection);
      } else if (matcher.literal) {
        const set = this.#exact.get(matcher.pattern);
        if (set === undefined) this.#exact.set(matcher.pattern, new Set([connection]));
        else set.add(connection);
      } else {
        const key = patternKey(matcher);
        const entry = this.#patterns.get(key);
        if (entry === undefined) {
          this.#patterns.set(key, { matcher, connections: new Set([connection]) });
          this.#routes.clear();
        } else {
          entry.connections.add(connection);
        }
      }
    }
  }

  delete(connection: Connection): void {
    for (const matcher of connection.matchers) {
      if (matcher.wildcard) {
        this.#wildcard.delete(connection);
      } else if (matcher.literal) {
        const set = this.#exact.get(matcher.pattern);
        if (set?.delete(connection) && set.size === 0) this.#exact.delete(matcher.pattern);
      } else {
        const key = patternKey(matcher);
        const entry = this.#patterns.get(key);
        if (entry?.connections.delete(connection) && entry.connections.size === 0) {
          this.#patterns.delete(key);
          this.#routes.clear();
        }
      }
    }
  }

  /**
   * Calls `visit` for every connection selecting one of the topics (possibly more than once: the
   * hub stamps each connection with the update it was offered).
   */
  forEachMatch(topics: readonly string[], visit: (connection: Connection) => void): void {
    for (const topic of topics) {
      const set = this.#exact.get(topic);
      if (set !== undefined) for (const connection of set) visit(connection);
    }
    for (const connection of this.#wildcard) visit(connection);
    if (this.#patterns.size === 0) return;
    for (const topic of topics) {
      for (const entry of this.#patternsMatching(topic)) {
        for (const connection of entry.connections) visit(connection);
      }
    }
  }

  #patternsMatching(topic: string): readonly PatternEntry[] {
    let matching = this.#routes.get(topic);
    if (matching === undefined) {
      const found: PatternEntry[] = [];
      for (const entry of this.#patterns.values()) if (entry.matcher.matches(topic)) found.push(entry);
      // Most topics match no pattern: they share one empty array rather than keeping their own.
      matching = found.length === 0 ? NO_PATTERNS : found;
      this.#routes.set(topic, matching);
    }
    return matching;
  }
}

function patternKey(matcher: TopicMatcher): string {
  return `${matcher.type}\u0000${matcher.pattern}`;
}
