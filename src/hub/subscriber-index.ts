import type { TopicMatcher } from "../matching/matcher.ts";
import type { Connection } from "./connection.ts";

/**
 * Finds the connections whose matchers select a topic without asking every connection: exact
 * topics are a Map lookup, `*` subscribers are kept apart, and each distinct URL Pattern is
 * evaluated once per topic however many connections share it. Patterns are keyed by type too:
 * the same text can be a URL Pattern and a legacy URI Template that match different topics.
 */
export class SubscriberIndex {
  readonly #exact = new Map<string, Set<Connection>>();
  readonly #wildcard = new Set<Connection>();
  readonly #patterns = new Map<string, { matcher: TopicMatcher; connections: Set<Connection> }>();

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
        if (entry === undefined) this.#patterns.set(key, { matcher, connections: new Set([connection]) });
        else entry.connections.add(connection);
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
        }
      }
    }
  }

  /** Calls `visit` for every connection selecting one of the topics (possibly more than once). */
  forEachMatch(topics: readonly string[], visit: (connection: Connection) => void): void {
    for (const topic of topics) {
      const set = this.#exact.get(topic);
      if (set !== undefined) for (const connection of set) visit(connection);
    }
    for (const connection of this.#wildcard) visit(connection);
    for (const entry of this.#patterns.values()) {
      if (topics.some((topic) => entry.matcher.matches(topic))) {
        for (const connection of entry.connections) visit(connection);
      }
    }
  }
}

function patternKey(matcher: TopicMatcher): string {
  return `${matcher.type}\u0000${matcher.pattern}`;
}
