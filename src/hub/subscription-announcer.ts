import type { TopicMatcher } from "../matching/matcher.ts";
import type { AnySubscriptionDocument } from "../protocol/subscription-resource.ts";
import type { Connection } from "./connection.ts";
import type { Logger } from "./logger.ts";
import { subscriptionEvent } from "./subscription-event.ts";
import { SubscriptionRegistry } from "./subscription-registry.ts";
import type { Transport } from "./transport.ts";
import type { Update } from "./update.ts";

/**
 * Active subscriptions (draft, "Active Subscriptions"): publishes an event as each subscription of
 * a stream begins and ends, through the transport like any update, and keeps the list by folding
 * in every subscription event dispatched (this hub's, and those of hubs sharing the transport).
 */
export class SubscriptionAnnouncer {
  /** The active subscriptions, as the subscription events dispatched so far describe them. */
  readonly registry = new SubscriptionRegistry();
  readonly #hubPath: string;
  readonly #transport: Transport;
  readonly #logger: Logger;
  /** Subscription events being stored, awaited before the transport closes. */
  readonly #storing = new Set<Promise<unknown>>();

  constructor(hubPath: string, transport: Transport, logger: Logger) {
    this.#hubPath = hubPath;
    this.#transport = transport;
    this.#logger = logger;
  }

  /** Publishes a subscription event for each of the connection's matchers. */
  announce(connection: Connection, active: boolean): void {
    for (const matcher of connection.matchers) {
      const update = this.#subscriptionEvent(matcher, connection, active);
      if (update === undefined) continue;
      const stored = this.#transport.publish(update).catch((error: unknown) => {
        this.#logger.error(
          { err: error, subscription: update.topics[0] },
          "storing a subscription event failed",
        );
      });
      this.#storing.add(stored);
      stored.finally(() => this.#storing.delete(stored));
    }
  }

  /**
   * Folds a dispatched subscription event into the list. Decided by kind, never by topic: only
   * hubs create subscription events, and a published update, whatever its topic, is never folded in.
   */
  fold(update: Update): void {
    try {
      this.registry.apply(JSON.parse(update.data) as AnySubscriptionDocument, update.id);
    } catch (error) {
      this.#logger.error({ err: error, update: update.id }, "a subscription event could not be read");
    }
  }

  /** Resolves once every subscription event published so far is stored (or failed). */
  async settled(): Promise<void> {
    await Promise.all(this.#storing);
  }

  /**
   * The event for one subscription. Undefined when it cannot be built: it is made while a stream
   * opens or closes, often from a socket's 'close' event, where a throw would end the process.
   */
  #subscriptionEvent(matcher: TopicMatcher, connection: Connection, active: boolean): Update | undefined {
    try {
      return subscriptionEvent(this.#hubPath, matcher, connection, active);
    } catch (error) {
      this.#logger.error(
        { err: error, subscriber: connection.subscriber },
        "a subscription event could not be made",
      );
      return undefined;
    }
  }
}
