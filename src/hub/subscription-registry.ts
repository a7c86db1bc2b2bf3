import type { SubscriptionDocument } from "../protocol/subscription-resource.ts";

export interface SubscriptionPage {
  readonly subscriptions: readonly SubscriptionDocument[];
  /** The id of the last document returned when more follow, to ask for the next page. */
  readonly next: string | undefined;
}

/**
 * The active subscriptions, as the subscription events dispatched so far describe them. The
 * registry is a fold of those events (not of local connections): every process sharing a
 * transport sees the same list, and a list read together with the id of the last dispatched event
 * is consistent with it, which is what lets a client list and then subscribe without a gap.
 */
export class SubscriptionRegistry {
  /** Subscription id (its topic) → document, in the order subscriptions began. */
  readonly #all = new Map<string, SubscriptionDocument>();
  /** `{match_type}\0{match}` → the ids of its subscriptions. */
  readonly #byMatcher = new Map<string, Set<string>>();

  get size(): number {
    return this.#all.size;
  }

  apply(document: SubscriptionDocument): void {
    const key = `${document.match_type}\u0000${document.match}`;
    if (document.active) {
      this.#all.set(document.id, document);
      const ids = this.#byMatcher.get(key);
      if (ids === undefined) this.#byMatcher.set(key, new Set([document.id]));
      else ids.add(document.id);
      return;
    }
    this.#all.delete(document.id);
    const ids = this.#byMatcher.get(key);
    if (ids?.delete(document.id) && ids.size === 0) this.#byMatcher.delete(key);
  }

  get(id: string): SubscriptionDocument | undefined {
    return this.#all.get(id);
  }

  /**
   * A page of the subscriptions (of one matcher when given), after the document `after`, at most
   * `limit` long. An `after` that ended meanwhile restarts nothing: the page is empty and the
   * client lists again from the start.
   */
  page(
    limit: number,
    after: string | undefined,
    matcher?: { matchType: string; match: string },
  ): SubscriptionPage {
    const ids =
      matcher === undefined
        ? this.#all.keys()
        : (this.#byMatcher.get(`${matcher.matchType}\u0000${matcher.match}`) ?? []);
    const subscriptions: SubscriptionDocument[] = [];
    let skipping = after !== undefined;
    for (const id of ids) {
      if (skipping) {
        if (id === after) skipping = false;
        continue;
      }
      if (subscriptions.length === limit) return { subscriptions, next: subscriptions[limit - 1]!.id };
      subscriptions.push(this.#all.get(id)!);
    }
    return { subscriptions, next: undefined };
  }
}
