import type { HttpLimits } from "./options.ts";
import { HttpRefusal } from "./refusal.ts";

/** Sent with a refusal: long enough for a stream to be given back. */
const RETRY_AFTER_SECONDS = "5";

/**
 * Bounds the subscriber streams: `maxConnections` in the process, `maxConnectionsPerClient` from
 * one client address. A stream is counted from its admission until its response closes; a
 * stream past a bound is refused with 429 `too_many_connections` and `Retry-After`.
 */
export class StreamLimiter {
  readonly #limits: Pick<HttpLimits, "maxConnections" | "maxConnectionsPerClient">;
  /** Open streams per client address; an address with none is not kept. */
  readonly #perClient = new Map<string, number>();

  constructor(limits: Pick<HttpLimits, "maxConnections" | "maxConnectionsPerClient">) {
    this.#limits = limits;
  }

  /** Open streams counted for one client address. */
  streamsFrom(client: string): number {
    return this.#perClient.get(client) ?? 0;
  }

  /**
   * Counts one more stream from `client`, the hub holding `open` streams now, or throws the
   * refusal. The caller gives it back with `release(client)` when the stream's response closes.
   */
  admit(client: string, open: number): void {
    const clientStreams = this.streamsFrom(client);
    if (open >= this.#limits.maxConnections) {
      throw new HttpRefusal(
        "too_many_connections",
        "the hub holds as many streams as it may (maxConnections)",
        { headers: { "Retry-After": RETRY_AFTER_SECONDS }, limit: "maxConnections" },
      );
    }
    if (clientStreams >= this.#limits.maxConnectionsPerClient) {
      throw new HttpRefusal(
        "too_many_connections",
        "this client holds too many streams (maxConnectionsPerClient)",
        { headers: { "Retry-After": RETRY_AFTER_SECONDS }, limit: "maxConnectionsPerClient" },
      );
    }
    this.#perClient.set(client, clientStreams + 1);
  }

  release(client: string): void {
    const left = this.streamsFrom(client) - 1;
    if (left <= 0) this.#perClient.delete(client);
    else this.#perClient.set(client, left);
  }
}
