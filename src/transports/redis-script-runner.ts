import type { Position } from "../hub/transport.ts";
import { TransportError } from "../hub/transport.ts";
import type { Update } from "../hub/update.ts";
import { answeredInTime, explainRedisError, type RedisClient } from "./redis-connect.ts";
import { compareStreamIds, type RedisKeys } from "./redis-keys.ts";
import { LEASE_SCRIPT, REAP_SCRIPT, SNAPSHOT_SCRIPT, STORE_SCRIPT } from "./redis-scripts.ts";
import { decodeUpdate } from "./update-codec.ts";

/** One active subscription as the `active` hash keeps it: `position node encoded-event`. */
export interface ActiveSubscription {
  readonly position: Position;
  readonly node: string;
  readonly event: Update;
}

export function parseActive(value: string): ActiveSubscription {
  const first = value.indexOf(" ");
  const second = value.indexOf(" ", first + 1);
  return {
    position: value.slice(0, first),
    node: value.slice(first + 1, second),
    event: decodeUpdate(value.slice(second + 1)),
  };
}

/**
 * The scripts, loaded once (SCRIPT LOAD) and run by their SHA (EVALSHA); a Redis that forgot them
 * (restarted, SCRIPT FLUSH) answers NOSCRIPT, and the script is sent whole once more.
 */
export class RedisScripts {
  readonly #client: RedisClient;
  readonly #shas = new Map<string, string>();

  private constructor(client: RedisClient) {
    this.#client = client;
  }

  static async load(client: RedisClient, where: string): Promise<RedisScripts> {
    const scripts = new RedisScripts(client);
    try {
      for (const script of [STORE_SCRIPT, SNAPSHOT_SCRIPT, LEASE_SCRIPT, REAP_SCRIPT])
        scripts.#shas.set(script, await client.scriptLoad(script));
    } catch (error) {
      throw new TransportError(
        `cannot load the scripts into Redis at ${where}: ${explainRedisError(error)}`,
        {
          cause: error,
        },
      );
    }
    return scripts;
  }

  #run(script: string, keys: string[], args: string[]): Promise<unknown> {
    return answeredInTime(this.#runNow(script, keys, args));
  }

  async #runNow(script: string, keys: string[], args: string[]): Promise<unknown> {
    const sha = this.#shas.get(script);
    if (sha !== undefined) {
      try {
        return await this.#client.evalSha(sha, { keys, arguments: args });
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      }
    }
    this.#shas.set(script, await this.#client.scriptLoad(script));
    return this.#client.eval(script, { keys, arguments: args });
  }

  #storeKeys(keys: RedisKeys): string[] {
    return [
      keys.last,
      keys.updates,
      keys.updateIds,
      keys.bytes,
      keys.trimmed,
      keys.events,
      keys.eventIds,
      keys.active,
    ];
  }

  /** Stores an update or a subscription event; resolves with its position (undefined: not its owner's). */
  async store(keys: RedisKeys, args: string[]): Promise<Position | undefined> {
    const position = await this.#run(STORE_SCRIPT, this.#storeKeys(keys), args);
    return position === null ? undefined : String(position);
  }

  /** Takes or renews the node's lease; resolves with whether it still held it. */
  async renewLease(keys: RedisKeys, node: string, leaseMs: number): Promise<boolean> {
    return Number(await this.#run(LEASE_SCRIPT, [keys.leases], [node, String(leaseMs)])) === 1;
  }

  /** Removes the leases that ended; resolves with the subscriptions their nodes left active. */
  async reap(keys: RedisKeys): Promise<ActiveSubscription[]> {
    const owned = (await this.#run(REAP_SCRIPT, [keys.leases, keys.active], [])) as string[];
    return owned.map(parseActive);
  }

  async dropLease(keys: RedisKeys, node: string): Promise<void> {
    await this.#client.zRem(keys.leases, node);
  }

  /** Applies retention; resolves with the budget of drops left (0: more may be due). */
  async trim(
    keys: RedisKeys,
    limits: [maxCount: string, maxAgeMs: string, maxBytes: string],
  ): Promise<number> {
    const args = ["trim", "", "", "0", ...limits, "1", "", "0", "", ""];
    return Number(await this.#run(STORE_SCRIPT, this.#storeKeys(keys), args));
  }

  /**
   * The newest position and, read with it, the cluster's active subscriptions in the order they
   * began.
   */
  async snapshot(keys: RedisKeys): Promise<[Position, Update[]]> {
    const [last, flat] = (await this.#run(SNAPSHOT_SCRIPT, [keys.last, keys.active], [])) as [
      string,
      string[],
    ];
    const active: ActiveSubscription[] = [];
    for (let i = 1; i < flat.length; i += 2) active.push(parseActive(flat[i]!));
    active.sort((a, b) => compareStreamIds(a.position, b.position));
    return [last, active.map((subscription) => subscription.event)];
  }
}
