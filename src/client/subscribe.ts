import type { ReconnectOptions } from "./backoff.ts";
import { type ConnectionConfig, HubConnection, type Member } from "./connection.ts";
import { MercureOptionsError } from "./errors.ts";
import type { Credentials, MatcherParameter } from "./subscribe-request.ts";
import { Subscription } from "./subscription.ts";

/** Above this URL length the matchers are sent in a `QUERY` body. */
export const DEFAULT_MAX_URL_LENGTH = 2000;
/**
 * A stream silent this long is taken as lost. Hubs send a keep-alive comment after some silence
 * (Quicksilver every 30 s, the reference hub every 40 s), so this is more than two of them: a
 * connection that died without a word (a laptop changing networks, a NAT forgetting it) is noticed.
 */
export const DEFAULT_STALL_TIMEOUT_MS = 90_000;
/** Messages a `for await` loop may fall behind before the subscription ends. */
export const DEFAULT_MAX_BUFFERED_MESSAGES = 10_000;

/** What to subscribe to, and how. */
export interface SubscribeOptions<T = unknown> {
  /** Exact topics, or `*` for every topic the token may read. */
  match?: string | string[];
  /** URL Patterns (`https://example.com/books/:id`). */
  matchUrlPattern?: string | string[];
  /** Legacy topic selectors (exact topics, URI Templates, `*`): with `dialect: "legacy"` only. */
  topic?: string | string[];
  /**
   * `draft` (default): the Mercure draft. `legacy`: the pre-1.0 protocol older hubs speak
   * (`topic=`, `lastEventID=`, the `Last-Event-ID` response header).
   */
  dialect?: "draft" | "legacy";
  /** A token sent as `Authorization: Bearer`. */
  token?: string;
  /** Called before every connection for a token; a JWT with `exp` is renewed shortly before it. */
  getToken?: () => string | Promise<string>;
  /** `include` to send the hub's cookie (cookie authorization) across origins, in browsers. */
  credentials?: Credentials;
  /** Resume after this id (or `earliest` for everything history keeps). */
  lastEventId?: string;
  /**
   * Turns each event's data into the message's `data`. By default JSON, and the text as it is
   * when it is not JSON. When it throws, the event is skipped and a `MercureParseError` emitted.
   */
  parse?: (data: string) => T;
  /** Aborting it closes the subscription. */
  signal?: AbortSignal;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Above this URL length, the matchers go in a `QUERY` body (default 2000). */
  maxUrlLength?: number;
  /** The bounds of the reconnection delay. */
  reconnect?: ReconnectOptions;
  /**
   * Nothing received for this long, not even a keep-alive, is a lost connection (default 90 s;
   * 0: never). Keep it above the hub's heartbeat interval.
   */
  stallTimeoutMs?: number;
  /**
   * Messages a `for await` loop over the subscription may fall behind (default 10,000); one more
   * ends the subscription with `MercureBufferOverflowError`.
   */
  maxBufferedMessages?: number;
  /**
   * `false`: a connection of its own. By default subscriptions to one hub with the same
   * authorization and dialect share one connection (on a hub that reports matchers).
   */
  share?: boolean;
  /**
   * Ask the hub which of the subscription's matchers each event matched, and whether it is
   * private (`message.matched`, `message.private`), even on a connection of its own. Shared
   * connections always ask. Hubs other than Quicksilver ignore it.
   */
  reportMatchers?: boolean;
}

/** The default `parse`: JSON when the data is JSON, else the text. */
export function parseJsonOrText(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/** The shared connections, by hub and authorization. */
const sharedConnections = new Map<string, HubConnection>();
/** Hubs seen not to report matchers: each subscription to them has a connection of its own. */
const unreportedHubs = new Set<string>();
/** Numbers for getToken and fetch functions, so that a key can name them. */
const functionIds = new WeakMap<object, number>();
let nextFunctionId = 0;

function functionId(fn: object): number {
  let id = functionIds.get(fn);
  if (id === undefined) {
    id = ++nextFunctionId;
    functionIds.set(fn, id);
  }
  return id;
}

/**
 * Subscribes to a hub. The subscription connects at once (after the current task, so that
 * subscriptions made together share a first request) and reconnects by itself; see `Subscription`.
 * Throws `MercureOptionsError` for options it cannot work with.
 */
export function subscribe<T = unknown>(hub: string | URL, options: SubscribeOptions<T>): Subscription<T> {
  let hubUrl: URL;
  try {
    hubUrl = new URL(hub, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    throw new MercureOptionsError("hub_url_invalid", `not a URL: ${String(hub)}`);
  }
  if (hubUrl.protocol !== "http:" && hubUrl.protocol !== "https:") {
    throw new MercureOptionsError("hub_url_invalid", "the hub URL must be http: or https:");
  }
  const dialect = options.dialect ?? "draft";
  if (dialect !== "draft" && dialect !== "legacy") {
    throw new MercureOptionsError("dialect_unknown", 'dialect is "draft" or "legacy"');
  }
  if (options.topic !== undefined && dialect !== "legacy") {
    throw new MercureOptionsError(
      "topic_needs_legacy",
      'topic is the legacy parameter: use match, or dialect: "legacy"',
    );
  }
  if (options.token !== undefined && options.getToken !== undefined) {
    throw new MercureOptionsError("token_conflict", "give token or getToken, not both");
  }
  const maxUrlLength = options.maxUrlLength ?? DEFAULT_MAX_URL_LENGTH;
  if (!Number.isInteger(maxUrlLength) || maxUrlLength < 0) {
    throw new MercureOptionsError("max_url_length_invalid", "maxUrlLength is a length in characters");
  }
  const stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
  if (!Number.isFinite(stallTimeoutMs) || stallTimeoutMs < 0) {
    throw new MercureOptionsError(
      "stall_timeout_invalid",
      "stallTimeoutMs is a duration in milliseconds, 0 for none",
    );
  }
  const maxBuffered = options.maxBufferedMessages ?? DEFAULT_MAX_BUFFERED_MESSAGES;
  if (!Number.isInteger(maxBuffered) || maxBuffered < 1) {
    throw new MercureOptionsError(
      "max_buffered_messages_invalid",
      "maxBufferedMessages is a count, at least 1",
    );
  }
  const matchers = matcherParameters(options);
  if (matchers.length === 0) {
    throw new MercureOptionsError("matcher_missing", "give at least one match, matchUrlPattern or topic");
  }

  const parse = options.parse ?? (parseJsonOrText as (data: string) => T);
  const subscription = new Subscription<T>(matchers, parse, options.lastEventId, options.signal, maxBuffered);
  if (options.signal?.aborted === true) {
    subscription.close();
    return subscription;
  }

  const fetchFunction = options.fetch ?? globalThis.fetch.bind(globalThis);
  // A subscription with a cursor of its own cannot join a stream that is further along.
  const key =
    options.share === false || options.lastEventId !== undefined || unreportedHubs.has(hubUrl.href)
      ? undefined
      : [
          hubUrl.href,
          dialect,
          options.credentials ?? "",
          options.token !== undefined ? `token ${options.token}` : "",
          options.getToken !== undefined ? `getToken ${functionId(options.getToken)}` : "",
          options.fetch !== undefined ? `fetch ${functionId(options.fetch)}` : "",
        ].join("\n");

  const config = (shared: boolean, lastEventId: string | undefined): ConnectionConfig => ({
    hub: hubUrl,
    dialect,
    token: options.token,
    getToken: options.getToken,
    credentials: options.credentials,
    fetch: fetchFunction,
    maxUrlLength,
    reconnect: options.reconnect ?? {},
    stallTimeoutMs,
    lastEventId,
    shared,
    reportMatchers: options.reportMatchers === true,
    onEnded: (connection) => {
      if (key !== undefined && sharedConnections.get(key) === connection) sharedConnections.delete(key);
    },
    onUnreported: (connection, moved: Member[], cursor) => {
      unreportedHubs.add(hubUrl.href);
      if (key !== undefined && sharedConnections.get(key) === connection) sharedConnections.delete(key);
      for (const member of moved) new HubConnection(config(false, cursor)).add(member);
    },
  });

  let connection = key === undefined ? undefined : sharedConnections.get(key);
  if (connection === undefined) {
    connection = new HubConnection(config(key !== undefined, options.lastEventId));
    if (key !== undefined) sharedConnections.set(key, connection);
  }
  connection.add(subscription.member);
  return subscription;
}

/** The matcher parameters of the options, each once, in a stable order. */
function matcherParameters(options: SubscribeOptions<unknown>): MatcherParameter[] {
  const list: MatcherParameter[] = [];
  const seen = new Set<string>();
  const add = (name: MatcherParameter["name"], values: string | string[] | undefined) => {
    for (const value of typeof values === "string" ? [values] : (values ?? [])) {
      if (typeof value !== "string" || value === "") {
        throw new MercureOptionsError("matcher_invalid", `${name} values are non-empty strings`);
      }
      const key = `${name}\u0000${value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      list.push({ name, value });
    }
  };
  add("match", options.match);
  add("match_urlpattern", options.matchUrlPattern);
  add("topic", options.topic);
  return list;
}
