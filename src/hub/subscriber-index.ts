import type { TopicMatcher } from "../matching/matcher.ts";
import { BoundedCache } from "../matching/urlpattern/bounded-cache.ts";
import type { Connection } from "./connection.ts";
import { PatternRoutes } from "./pattern-routes.ts";

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
 * topics are a Map lookup, `*` subscribers are kept apart, and each distinct pattern is evaluated
 * once per topic however many connections share it. URL Patterns that fix their host are filed by
 * it and by the fixed beginning of their path (see PatternRoutes), so that a new topic is tested
 * only against those it could match; the patterns a topic matched are remembered until the set of
 * distinct patterns changes. Patterns are keyed by type too: the same text can be a URL Pattern
 * and a legacy URI Template that match different topics.
 */
export class SubscriberIndex {
  readonly #exact = new Map<string, Set<Connection>>();
  readonly #wildcard = new Set<Connection>();
  readonly #patterns = new Map<string, PatternEntry>();
  /** Every pattern entry is in one of these two. */
  readonly #routed = new PatternRoutes<PatternEntry>();
  readonly #unrouted = new Set<PatternEntry>();
  /** Topic → the pattern entries it matches; cleared whenever a pattern comes or goes. */
  readonly #matched = new BoundedCache<string, readonly PatternEntry[]>(MAX_CACHED_TOPIC_ROUTES);

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
          const added = { matcher, connections: new Set([connection]) };
          this.#patterns.set(key, added);
          if (matcher.route === undefined || !this.#routed.add(matcher.route, added))
            this.#unrouted.add(added);
          this.#matched.clear();
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
          if (!this.#unrouted.delete(entry)) this.#routed.delete(matcher.route!, entry);
          this.#matched.clear();
        }
      }
    }
  }

  /**
   * Calls `visit` for every connection selecting one of the topics (possibly more than once: the
   * hub stamps each connection with the update it was offered).
   *
   * `mayReceive`, given for an update that only some connections may receive (a private one),
   * says which: a pattern is then evaluated only when one of its connections may receive the
   * update. Subscribers choose their patterns and what each costs, and a private update (every
   * subscription event among them) must cost nothing for subscribers it can never reach.
   */
  forEachMatch(
    topics: readonly string[],
    visit: (connection: Connection) => void,
    mayReceive?: (connection: Connection) => boolean,
  ): void {
    for (const topic of topics) {
      const set = this.#exact.get(topic);
      if (set !== undefined) for (const connection of set) visit(connection);
    }
    for (const connection of this.#wildcard) visit(connection);
    if (this.#patterns.size === 0) return;
    for (const topic of topics) {
      const matching =
        mayReceive === undefined ? this.#patternsMatching(topic) : this.#patternsReaching(topic, mayReceive);
      for (const entry of matching) {
        for (const connection of entry.connections) visit(connection);
      }
    }
  }

  #patternsMatching(topic: string): readonly PatternEntry[] {
    let matching = this.#matched.get(topic);
    if (matching === undefined) {
      const found: PatternEntry[] = [];
      for (const entry of this.#unrouted) if (entry.matcher.matches(topic)) found.push(entry);
      this.#routed.forEachCandidate(topic, (entry) => {
        if (entry.matcher.matches(topic)) found.push(entry);
      });
      // Most topics match no pattern: they share one empty array rather than keeping their own.
      matching = found.length === 0 ? NO_PATTERNS : found;
      this.#matched.set(topic, matching);
    }
    return matching;
  }

  /**
   * The entries matching `topic` among those with a connection that may receive the update. A
   * remembered answer is used as it is; a new one is remembered only when no entry was skipped
   * (then it is the whole answer), so a topic that keeps receiving private updates for readers of
   * every pattern it matches is evaluated once, as a public one is.
   */
  #patternsReaching(topic: string, mayReceive: (connection: Connection) => boolean): readonly PatternEntry[] {
    const remembered = this.#matched.get(topic);
    if (remembered !== undefined) return remembered;
    const found: PatternEntry[] = [];
    let skipped = false;
    const test = (entry: PatternEntry) => {
      if (!reachesAny(entry.connections, mayReceive)) skipped = true;
      else if (entry.matcher.matches(topic)) found.push(entry);
    };
    for (const entry of this.#unrouted) test(entry);
    this.#routed.forEachCandidate(topic, test);
    const matching = found.length === 0 ? NO_PATTERNS : found;
    if (!skipped) this.#matched.set(topic, matching);
    return matching;
  }
}

function reachesAny(
  connections: ReadonlySet<Connection>,
  mayReceive: (connection: Connection) => boolean,
): boolean {
  for (const connection of connections) if (mayReceive(connection)) return true;
  return false;
}

function patternKey(matcher: TopicMatcher): string {
  return `${matcher.type}\u0000${matcher.pattern}`;
}
