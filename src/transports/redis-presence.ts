import type { Logger } from "../hub/logger.ts";
import { endedSubscriptionEvent } from "../hub/subscription-event.ts";
import type { Position } from "../hub/transport.ts";
import type { Update } from "../hub/update.ts";
import { explainRedisError } from "./redis-connect.ts";
import type { RedisKeys } from "./redis-keys.ts";
import type { RedisScripts } from "./redis-script-runner.ts";

/** How long a node that stops renewing keeps its subscriptions, unless told otherwise (ms). */
export const DEFAULT_LEASE_MS = 10_000;

export interface PresenceActions {
  /** Publishes an event that ends a dead node's subscription, unless another event followed `begun`. */
  endForDeadNode(event: Update, begun: Position): Promise<unknown>;
  /** This node's lease lapsed and was reaped: its subscriptions were ended; announce them again. */
  announceAgain(): Promise<unknown>;
}

/**
 * A node's lease in the cluster: renewed every third of the lease, so that a node alive and in
 * touch with Redis never loses it. Every node also reaps the leases that ended: it ends the
 * subscriptions their nodes left active (each end conditional, so each is ended once, however
 * many nodes reap), within a lease (and a third) of the node's last renewal.
 */
export class RedisPresence {
  readonly #scripts: RedisScripts;
  readonly #keys: RedisKeys;
  readonly #nodeId: string;
  readonly #leaseMs: number;
  readonly #actions: PresenceActions;
  readonly #logger: Logger | undefined;
  readonly #timer: NodeJS.Timeout;
  #busy = false;
  #closed = false;

  private constructor(
    scripts: RedisScripts,
    keys: RedisKeys,
    nodeId: string,
    leaseMs: number,
    actions: PresenceActions,
    logger: Logger | undefined,
  ) {
    this.#scripts = scripts;
    this.#keys = keys;
    this.#nodeId = nodeId;
    this.#leaseMs = leaseMs;
    this.#actions = actions;
    this.#logger = logger;
    this.#timer = setInterval(() => void this.#beat(), Math.max(1, Math.floor(leaseMs / 3))).unref();
  }

  /** Takes the node's lease, then keeps it. */
  static async start(
    scripts: RedisScripts,
    keys: RedisKeys,
    nodeId: string,
    leaseMs: number,
    actions: PresenceActions,
    logger: Logger | undefined,
  ): Promise<RedisPresence> {
    await scripts.renewLease(keys, nodeId, leaseMs);
    return new RedisPresence(scripts, keys, nodeId, leaseMs, actions, logger);
  }

  async #beat(): Promise<void> {
    if (this.#busy || this.#closed) return;
    this.#busy = true;
    try {
      const held = await this.#scripts.renewLease(this.#keys, this.#nodeId, this.#leaseMs);
      if (!held && !this.#closed) {
        this.#logger?.warn(
          { node: this.#nodeId },
          "this node's lease lapsed (Redis was out of reach for longer than the lease); its subscriptions are announced again",
        );
        await this.#actions.announceAgain();
      }
      for (const { event, position } of await this.#scripts.reap(this.#keys)) {
        if (this.#closed) break;
        await this.#actions.endForDeadNode(endedSubscriptionEvent(event), position);
      }
    } catch (error) {
      // Retried at the next beat; a Redis out of reach is reported by health.
      this.#logger?.debug({ node: this.#nodeId }, `lease renewal failed: ${explainRedisError(error)}`);
    } finally {
      this.#busy = false;
    }
  }

  /** Stops renewing and drops the lease: a node that says goodbye has ended its subscriptions. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#scripts.dropLease(this.#keys, this.#nodeId).catch(() => {});
  }
}
