import { decrement, increment } from "./counts.ts";
import type { HttpLimits } from "./options.ts";
import { HttpRefusal } from "./refusal.ts";

/** Sent with a refusal: long enough for a stream to be given back. */
const RETRY_AFTER_SECONDS = "5";

type StreamLimits = Pick<
  HttpLimits,
  "maxConnections" | "maxConnectionsPerClient" | "maxConnectionsPerSubject"
>;

/** Whose stream is counted: the client address, and the token's subject when it has a token. */
export interface StreamHolder {
  readonly client: string;
  /** The key of the token's subject (see `subjectKey`); undefined for an anonymous subscriber. */
  readonly subject: string | undefined;
}

/**
 * Bounds the subscriber streams: `maxConnections` in the process, `maxConnectionsPerClient` from
 * one client address, `maxConnectionsPerSubject` under one token subject (from any address: a
 * token shared or leaked across many machines is still bounded). A stream is counted from its
 * admission until its response closes; a stream past a bound is refused with 429
 * `too_many_connections` and `Retry-After`, the refusal naming the bound (`limit`).
 */
export class StreamLimiter {
  readonly #limits: StreamLimits;
  /** Open streams per client address; an address with none is not kept. */
  readonly #perClient = new Map<string, number>();
  /** Open streams per subject key; a subject with none is not kept. */
  readonly #perSubject = new Map<string, number>();

  constructor(limits: StreamLimits) {
    this.#limits = limits;
  }

  /** Open streams counted for one client address. */
  streamsFrom(client: string): number {
    return this.#perClient.get(client) ?? 0;
  }

  /** Open streams counted for one subject key. */
  streamsOf(subject: string): number {
    return this.#perSubject.get(subject) ?? 0;
  }

  /**
   * Counts one more stream for `holder`, the hub holding `open` streams now, or throws the
   * refusal. The caller gives it back with `release(holder)` when the stream's response closes.
   */
  admit(holder: StreamHolder, open: number): void {
    if (open >= this.#limits.maxConnections) {
      throw refusal("the hub holds as many streams as it may", "maxConnections");
    }
    if (this.streamsFrom(holder.client) >= this.#limits.maxConnectionsPerClient) {
      throw refusal("this client holds too many streams", "maxConnectionsPerClient");
    }
    if (
      holder.subject !== undefined &&
      this.streamsOf(holder.subject) >= this.#limits.maxConnectionsPerSubject
    ) {
      throw refusal("this token's subject holds too many streams", "maxConnectionsPerSubject");
    }
    increment(this.#perClient, holder.client);
    if (holder.subject !== undefined) increment(this.#perSubject, holder.subject);
  }

  release(holder: StreamHolder): void {
    decrement(this.#perClient, holder.client);
    if (holder.subject !== undefined) decrement(this.#perSubject, holder.subject);
  }
}

function refusal(detail: string, limit: string): HttpRefusal {
  return new HttpRefusal("too_many_connections", `${detail} (${limit})`, {
    headers: { "Retry-After": RETRY_AFTER_SECONDS },
    limit,
  });
}
