import type { TopicRoute } from "../matching/matcher.ts";
import { topicHostAndPath } from "../matching/urlpattern/topic-components.ts";

/**
 * Pattern entries filed by their route (host and fixed beginning of path), so that a topic is
 * tested only against the patterns that could match it: a topic seen for the first time would
 * otherwise be tested against every distinct pattern. A topic's candidates are the entries filed
 * under its host and one of its path's beginnings, looked up only at the lengths some route has.
 */
export class PatternRoutes<E> {
  readonly #entries = new Map<string, Set<E>>();
  /** Prefix length → routes with a prefix that long. */
  readonly #lengths = new Map<number, number>();
  /** The base URL every route shares (the hub's); a route with another is refused. */
  #baseUrl: string | undefined;

  get size(): number {
    return this.#entries.size;
  }

  /** Files `entry` under `route`; false when the route is on another base URL (keep it apart). */
  add(route: TopicRoute, entry: E): boolean {
    if (this.#baseUrl !== undefined && route.baseUrl !== this.#baseUrl) return false;
    this.#baseUrl = route.baseUrl;
    const key = routeKey(route.hostname, route.pathPrefix);
    const set = this.#entries.get(key);
    if (set !== undefined) {
      set.add(entry);
      return true;
    }
    this.#entries.set(key, new Set([entry]));
    const length = route.pathPrefix.length;
    this.#lengths.set(length, (this.#lengths.get(length) ?? 0) + 1);
    return true;
  }

  delete(route: TopicRoute, entry: E): void {
    const key = routeKey(route.hostname, route.pathPrefix);
    const set = this.#entries.get(key);
    if (set === undefined || !set.delete(entry) || set.size > 0) return;
    this.#entries.delete(key);
    const length = route.pathPrefix.length;
    const left = this.#lengths.get(length)! - 1;
    if (left === 0) this.#lengths.delete(length);
    else this.#lengths.set(length, left);
    if (this.#entries.size === 0) this.#baseUrl = undefined;
  }

  /** Calls `visit` for every entry whose route the topic is on. */
  forEachCandidate(topic: string, visit: (entry: E) => void): void {
    if (this.#baseUrl === undefined) return;
    const parsed = topicHostAndPath(topic, this.#baseUrl);
    if (parsed === undefined) return;
    const [hostname, pathname] = parsed;
    for (const length of this.#lengths.keys()) {
      if (length > pathname.length) continue;
      const set = this.#entries.get(routeKey(hostname, pathname.slice(0, length)));
      if (set !== undefined) for (const entry of set) visit(entry);
    }
  }
}

function routeKey(hostname: string, pathPrefix: string): string {
  return `${hostname}\u0000${pathPrefix}`;
}
