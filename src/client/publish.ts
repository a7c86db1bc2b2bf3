import { errorFromResponse, MercureError, type MercureHttpError, MercureNetworkError } from "./errors.ts";

/** An update to publish. */
export interface PublishUpdate {
  /** The topic, or topics: the first is the canonical one, the others alternates. */
  readonly topic: string | readonly string[];
  /** The payload: a string as it is, anything else as JSON. Absent: an empty `data`. */
  readonly data?: string | object;
  /** Deliver only to subscribers whose token grants one of the topics. */
  readonly private?: boolean;
  /**
   * The update's id. When absent the client makes one (`urn:uuid:…`) before the first attempt,
   * so a retry repeats the same update instead of publishing a second one.
   */
  readonly id?: string;
  /** The SSE `event` type. */
  readonly type?: string;
  /** The reconnection delay, in milliseconds, the hub passes on to subscribers. */
  readonly retry?: number;
}

/** How to publish. */
export interface PublishOptions {
  /**
   * The publisher's access token, or a function that returns one (called before every attempt,
   * so a refreshed token is used on a retry). Sent as `Authorization: Bearer`.
   */
  readonly token?: string | (() => string | Promise<string>);
  /**
   * `fetch`'s credentials mode: `"include"` publishes with the hub's cookie from another origin
   * (the hub then wants an `Origin` on its publish allowlist).
   */
  readonly credentials?: "omit" | "same-origin" | "include";
  /**
   * How the hub reads `private`: `"draft"` (default) sends the field with an empty value, its
   * presence being what counts; `"legacy"` sends `private=on`, the value the hub's 0.x versions
   * compared with (a draft hub accepts it too).
   */
  readonly dialect?: "draft" | "legacy";
  /** Attempts after the first, for a lost connection, a `503` or a `429`. Default 3. */
  readonly retries?: number;
  /** Aborts the publish, between attempts too; the promise then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** The `fetch` to use (a wrapped one, one with a custom agent). Default: the global one. */
  readonly fetch?: typeof fetch;
  /** The first retry's delay, before jitter. Default 250 ms; each retry doubles it. */
  readonly minDelayMs?: number;
  /** The longest wait between attempts, a `Retry-After` included. Default 10 s. */
  readonly maxDelayMs?: number;
}

/** What the hub acknowledged. */
export interface PublishResult {
  /** The update's id, as the hub answered it. */
  readonly id: string;
  /** How many requests it took (1 when the first was answered). */
  readonly attempts: number;
}

/** Attempts after the first, unless `retries` says otherwise. */
export const DEFAULT_PUBLISH_RETRIES = 3;
/** The first retry's delay, unless `minDelayMs` says otherwise. */
export const DEFAULT_PUBLISH_MIN_DELAY_MS = 250;
/** The longest wait between attempts, unless `maxDelayMs` says otherwise. */
export const DEFAULT_PUBLISH_MAX_DELAY_MS = 10_000;

/**
 * Publishes `update` to the hub at `hub` and resolves with its id once the hub acknowledged it.
 *
 * A lost connection, a `503` (the hub could not store it) and a `429` (a rate limit; after its
 * `Retry-After`) are retried with exponential backoff and jitter, carrying the same id each time:
 * a hub that already holds the update acknowledges it again without delivering it twice. Any other
 * refusal rejects at once with its typed error (`MercureUnauthorizedError`,
 * `MercureForbiddenError`, `MercureHttpError` with the problem's `code`); the last failure is
 * thrown when the retries run out.
 */
export async function publish(
  hub: string | URL,
  update: PublishUpdate,
  options: PublishOptions = {},
): Promise<PublishResult> {
  const retries = options.retries ?? DEFAULT_PUBLISH_RETRIES;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new RangeError(`retries must be a whole number of attempts, 0 or more, got ${retries}`);
  }
  const minDelayMs = options.minDelayMs ?? DEFAULT_PUBLISH_MIN_DELAY_MS;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_PUBLISH_MAX_DELAY_MS;
  for (const [name, value] of [
    ["minDelayMs", minDelayMs],
    ["maxDelayMs", maxDelayMs],
  ] as const) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`${name} must be a number of milliseconds, 0 or more, got ${value}`);
    }
  }
  const doFetch = options.fetch ?? globalThis.fetch;
  const id = update.id ?? `urn:uuid:${crypto.randomUUID()}`;
  const body = publishForm(update, id, options.dialect ?? "draft");
  const signal = options.signal;

  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded" };
    const token = typeof options.token === "function" ? await options.token() : options.token;
    if (token !== undefined) headers["Authorization"] = `Bearer ${token}`;
    let failure: MercureNetworkError | MercureHttpError;
    try {
      const response = await doFetch(hub, {
        method: "POST",
        headers,
        body,
        ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
        ...(signal === undefined ? {} : { signal }),
      });
      if (response.ok) {
        const answered = await response.text();
        if (answered !== id) {
          // Shortened: a proxy answering in the hub's place may send a whole page.
          const shown = answered.length > 200 ? `${answered.slice(0, 200)}…` : answered;
          throw new MercureError(`the hub acknowledged ${JSON.stringify(shown)}, not the update's id ${id}`);
        }
        return { id, attempts: attempt };
      }
      failure = await errorFromResponse(response);
      if (response.status !== 503 && response.status !== 429) throw failure;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof MercureError) throw error;
      // fetch rejects (or the answer's body breaks off) only when no answer arrived: the update may
      // or may not have been stored, and sending it again with its id is safe either way.
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      const reason = `${(error as Error).message}${typeof code === "string" ? ` (${code})` : ""}`;
      failure = new MercureNetworkError(`could not reach the hub: ${reason}`, {
        cause: error,
      });
    }
    if (attempt > retries) throw failure;
    const backoff = Math.min(maxDelayMs, minDelayMs * 2 ** (attempt - 1));
    // Half fixed, half random: publishers that failed together do not come back together.
    let delay = backoff / 2 + (Math.random() * backoff) / 2;
    if ("retryAfterMs" in failure && failure.retryAfterMs !== undefined) {
      delay = Math.min(maxDelayMs, Math.max(delay, failure.retryAfterMs));
    }
    await sleep(delay, signal);
  }
}

/** The publish form; `id` is always sent, so every attempt carries the same one. */
function publishForm(update: PublishUpdate, id: string, dialect: "draft" | "legacy"): URLSearchParams {
  const form = new URLSearchParams();
  const topics = typeof update.topic === "string" ? [update.topic] : update.topic;
  for (const topic of topics) form.append("topic", topic);
  if (update.data !== undefined) {
    form.append("data", typeof update.data === "string" ? update.data : JSON.stringify(update.data));
  }
  if (update.private === true) form.append("private", dialect === "legacy" ? "on" : "");
  form.append("id", id);
  if (update.type !== undefined) form.append("type", update.type);
  if (update.retry !== undefined) form.append("retry", String(update.retry));
  return form;
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
