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
