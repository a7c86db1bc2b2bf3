/**
 * `quicksilver/client`: the Mercure client SDK, for browsers, Node 20+, Deno and Bun. It imports
 * nothing but the pure protocol module (a test walks its imports), and no dependency.
 */
export type { ReconnectOptions } from "./backoff.ts";
export { DEFAULT_RECONNECT_MAX_DELAY_MS, DEFAULT_RECONNECT_MIN_DELAY_MS } from "./backoff.ts";
export type { Reconnecting, SubscriptionGap } from "./connection.ts";
export * from "./discover.ts";
export * from "./errors.ts";
export {
  MAX_PRESENCE_PAGES,
  type Presence,
  type PresenceEvents,
  type PresenceOptions,
  presence,
  type SubscriptionDocument,
} from "./presence.ts";
export * from "./publish.ts";
export {
  DEFAULT_MAX_BUFFERED_MESSAGES,
  DEFAULT_MAX_URL_LENGTH,
  DEFAULT_STALL_TIMEOUT_MS,
  parseJsonOrText,
  type SubscribeOptions,
  subscribe,
} from "./subscribe.ts";
export type { Credentials } from "./subscribe-request.ts";
export type { MercureMessage, ReportedMatcher, Subscription, SubscriptionEvents } from "./subscription.ts";
