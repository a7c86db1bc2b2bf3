import { payloadFor } from "../auth/grants.ts";
import { LEGACY_TOPIC, type TopicMatcher } from "../matching/matcher.ts";
import {
  type AnySubscriptionDocument,
  LEGACY_CONTEXT,
  legacySubscriptionsPath,
  subscriptionsPath,
} from "../protocol/subscription-resource.ts";
import type { Connection } from "./connection.ts";
import { createUpdate, type Update } from "./update.ts";

/**
 * The event announcing that one subscription (a matcher of a stream) began or ended (draft,
 * "Active Subscriptions"): an update of kind `subscription`, which only the hub makes.
 * Private: only tokens granting subscribe on the subscription's topic may see it. Draft-08 events
 * carry the reserved type `mercure`; legacy ones carry none, as the old hub sent them, so that old
 * clients receive them in `onmessage`.
 */
export function subscriptionEvent(
  hubPath: string,
  matcher: TopicMatcher,
  connection: Connection,
  active: boolean,
): Update {
  const document = subscriptionDocument(hubPath, matcher, connection, active);
  return createUpdate(
    {
      topics: [document.id],
      data: JSON.stringify(document),
      id: undefined,
      type: matcher.type === LEGACY_TOPIC ? undefined : "mercure",
      retry: undefined,
      private: true,
    },
    "subscription",
  );
}

/** A subscription's document: the draft's shape, or the old hub's for a legacy `topic=` selector. */
function subscriptionDocument(
  hubPath: string,
  matcher: TopicMatcher,
  connection: Connection,
  active: boolean,
): AnySubscriptionDocument {
  const payload = payloadFor(connection.grants, matcher.pattern);
  if (matcher.type === LEGACY_TOPIC) {
    return {
      "@context": LEGACY_CONTEXT,
      id: legacySubscriptionsPath(hubPath, matcher.pattern, connection.subscriber),
      type: "Subscription",
      topic: matcher.pattern,
      subscriber: connection.subscriber,
      active,
      payload,
    };
  }
  return {
    id: subscriptionsPath(hubPath, matcher.type, matcher.pattern, connection.subscriber),
    type: "subscription",
    match_type: matcher.type,
    match: matcher.pattern,
    subscriber: connection.subscriber,
    active,
    payload,
  };
}

/** What a subscription event says: which subscription (its id, the event's topic), and whether it is active. */
export interface SubscriptionState {
  readonly id: string;
  readonly active: boolean;
}

/**
 * Reads a subscription event made by `subscriptionEvent` (a transport keeping the active
 * subscriptions of a cluster needs no more of it). Undefined when it is not one.
 */
export function subscriptionStateOf(update: Update): SubscriptionState | undefined {
  if (update.kind !== "subscription" || update.topics.length !== 1) return undefined;
  try {
    const document = JSON.parse(update.data) as Partial<AnySubscriptionDocument>;
    if (typeof document.active !== "boolean" || document.id !== update.topics[0]) return undefined;
    return { id: update.topics[0]!, active: document.active };
  } catch {
    return undefined;
  }
}

/**
 * The event that ends the subscription an `active: true` event began, with a new id: what a
 * cluster publishes for a node that died without a goodbye (its own goodbye never comes).
 */
export function endedSubscriptionEvent(begun: Update): Update {
  const document = { ...(JSON.parse(begun.data) as AnySubscriptionDocument), active: false };
  return createUpdate(
    {
      topics: begun.topics,
      data: JSON.stringify(document),
      id: undefined,
      type: begun.type,
      retry: begun.retry,
      private: begun.private,
    },
    "subscription",
  );
}
