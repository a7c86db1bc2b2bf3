/**
 * What a verified token allows (draft, "Publishers", "Subscribers", "Payloads").
 *
 * Grants are immutable and shared: the verified-token cache hands the same object to every
 * request presenting the same token.
 */
import type { TopicMatcher } from "../matching/matcher.ts";

/** One Mercure authorization detail carrying the `subscribe` action. */
export interface SubscribeGrant {
  readonly matchers: readonly TopicMatcher[];
  /** The detail's `payload` JSON object; `undefined` when the detail has none. */
  readonly payload: unknown;
}

/** Which dialect's profile verified the token: draft-08 or the legacy (0.x) one. */
export type Dialect = "modern" | "legacy";

export interface Grants {
  readonly dialect: Dialect;
  /** Every matcher of every detail granting `publish`. */
  readonly publish: readonly TopicMatcher[];
  /** The `subscribe` details in token order: payload selection is order-dependent. */
  readonly subscribe: readonly SubscribeGrant[];
  /** When the token expires, in ms since the epoch (from `exp`). */
  readonly expiresAt: number | undefined;
  readonly issuer: string | undefined;
  readonly subject: string | undefined;
}

/** True when the token grants `publish` on `topic`. */
export function canPublish(grants: Grants, topic: string): boolean {
  for (const matcher of grants.publish) if (matcher.matches(topic)) return true;
  return false;
}

/**
 * True when the token grants `publish` on **every** topic (canonical and alternates): a publish
 * allowed on some topics only must be refused whole, or a publisher could reach the audience of
 * a topic it does not own by listing it as an alternate.
 */
export function canPublishAll(grants: Grants, topics: readonly string[]): boolean {
  for (const topic of topics) if (!canPublish(grants, topic)) return false;
  return true;
}

/**
 * True when the token grants `subscribe` on at least one of the update's topics, so a private
 * update may be delivered. Anonymous subscribers (`undefined` grants) read public updates only.
 */
export function canRead(grants: Grants | undefined, topics: readonly string[]): boolean {
  if (grants === undefined) return false;
  for (const grant of grants.subscribe) {
    for (const matcher of grant.matchers) {
      for (const topic of topics) if (matcher.matches(topic)) return true;
    }
  }
  return false;
}

/**
 * The payload for a subscription: that of the first `subscribe` detail one of whose matchers
 * matches the subscription's own matcher string, treated as a topic. The first matching detail
 * wins even when it has no payload (then the result is `undefined`). A legacy token has one
 * payload for all its subscriptions, as the old hub had.
 */
export function payloadFor(grants: Grants | undefined, subscriptionMatcher: string): unknown {
  if (grants === undefined) return undefined;
  if (grants.dialect === "legacy") return grants.subscribe[0]?.payload;
  for (const grant of grants.subscribe) {
    for (const matcher of grant.matchers) if (matcher.matches(subscriptionMatcher)) return grant.payload;
  }
  return undefined;
}
