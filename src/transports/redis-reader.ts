import type { Logger } from "../hub/logger.ts";
import type { Position } from "../hub/transport.ts";
import type { Update } from "../hub/update.ts";
import { backoffMs, explainRedisError, type RedisClient } from "./redis-connect.ts";
import { compareStreamIds, type RedisKeys } from "./redis-keys.ts";
import { decodeUpdate } from "./update-codec.ts";

/** How long one XREAD waits for news before it is sent again (and `closed` is checked). */
const BLOCK_MS = 2000;
/** Most entries read from each stream per XREAD. */
export const READ_COUNT = 512;

export interface StreamEntry {
  readonly id: string;
  readonly message: Record<string, string>;
}

/**
 * Two streams read after one position, as one sequence in position order. A stream that gave a
 * full page may hold more before the other's later entries: only entries up to the end of the
 * shorter-known page are complete, the rest is read again next time.
 */
export function mergePages(
  updates: readonly StreamEntry[],
  events: readonly StreamEntry[],
  count: number,
): { entries: StreamEntry[]; complete: boolean } {
  let limit: string | undefined;
  for (const page of [updates, events]) {
    const end = page.at(-1)?.id;
    if (
      page.length >= count &&
      end !== undefined &&
      (limit === undefined || compareStreamIds(end, limit) < 0)
    ) {
      limit = end;
    }
  }
  const entries = [...updates, ...events]
    .filter((entry) => limit === undefined || compareStreamIds(entry.id, limit) <= 0)
    .sort((a, b) => compareStreamIds(a.id, b.id));
  return { entries, complete: limit === undefined };
}

/**
 * The one blocking reader of a transport: XREAD on both streams from the last position it handed
 * over, each update of every node handed over once, in position order. Its own connection (a
 * blocked connection serves nothing else); after a failure it reconnects with backoff and resumes
 * from that position, so nothing is lost and nothing repeated.
 */
export class RedisReader {
  readonly #client: RedisClient;
  readonly #keys: RedisKeys;
  readonly #logger: Logger | undefined;
  readonly #deliver: (update: Update, position: Position) => void;
  #last: Position;
  #closed = false;
  #failure: string | undefined;
  readonly #done: Promise<void>;

  constructor(
    client: RedisClient,
    keys: RedisKeys,
    after: Position,
    deliver: (update: Update, position: Position) => void,
    logger: Logger | undefined,
  ) {
    this.#client = client;
    this.#keys = keys;
    this.#last = after;
    this.#deliver = deliver;
    this.#logger = logger;
    this.#done = this.#run();
  }

  /** The last position handed over. */
  get last(): Position {
    return this.#last;
  }

  /** Why the reader cannot read now, while it cannot. */
  get failure(): string | undefined {
    return this.#failure;
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      try {
        if (this.#failure !== undefined) await this.#checkNothingMissed();
        await this.#readOnce();
        attempt = 0;
      } catch (error) {
        if (this.#closed) return;
        if (this.#failure === undefined) {
          this.#failure = `cannot read updates from Redis: ${explainRedisError(error)}`;
          this.#logger?.warn({}, `${this.#failure}; retrying`);
        }
        await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt++)));
      }
    }
  }

  /**
   * After an outage: whether retention dropped updates this reader had yet to hand over (Redis
   * was out of reach for longer than history lasts). They cannot be delivered live any more;
   * the operator is told rather than left to find the gap.
   */
  async #checkNothingMissed(): Promise<void> {
    const trimmed = await this.#client.get(this.#keys.trimmed);
    if (trimmed !== null && compareStreamIds(trimmed, this.#last) > 0) {
      this.#logger?.error(
        { after: this.#last, through: trimmed },
        "updates were dropped by retention before this node could read them; its subscribers missed them",
      );
    }
  }

  async #readOnce(): Promise<void> {
    const reply = (await this.#client.xRead(
      [
        { key: this.#keys.updates, id: this.#last },
        { key: this.#keys.events, id: this.#last },
      ],
      { BLOCK: BLOCK_MS, COUNT: READ_COUNT },
    )) as { name: string; messages: StreamEntry[] }[] | null;
    // Read again: healthy before anything is handed over (a publish it acknowledges may check).
    if (this.#failure !== undefined) {
      this.#logger?.info({}, "the Redis reader reads again; live delivery resumes");
      this.#failure = undefined;
    }
    if (reply === null || this.#closed) return;
    const pageOf = (key: string) => reply.find((stream) => stream.name === key)?.messages ?? [];
    const { entries } = mergePages(pageOf(this.#keys.updates), pageOf(this.#keys.events), READ_COUNT);
    for (const entry of entries) {
      let update: Update;
      try {
        update = decodeUpdate(entry.message.u ?? "");
      } catch {
        this.#logger?.error(
          { position: entry.id },
          "skipped a Redis stream entry that is not an encoded update",
        );
        this.#last = entry.id;
        continue;
      }
      this.#last = entry.id;
      this.#deliver(update, entry.id);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#client.destroy();
    await this.#done;
  }
}
