import { parseLinkHeader } from "./discover.ts";
import { Emitter } from "./emitter.ts";
import { errorFromResponse, MercureError, MercureNetworkError, MercureOptionsError } from "./errors.ts";
import { subscribe } from "./subscribe.ts";
import type { Credentials } from "./subscribe-request.ts";
import type { Subscription } from "./subscription.ts";

/** One active subscription, as the hub's subscription events and API describe it. */
export interface SubscriptionDocument<P = unknown> {
  /** The subscription's topic and URL in the subscription API: the key of `Presence.subscribers`. */
  readonly id: string;
  readonly type: "subscription";
  readonly match_type: "exact" | "urlpattern";
  readonly match: string;
  /** The connection's random id: two tabs of one person are two subscribers. */
  readonly subscriber: string;
  readonly active: boolean;
  /** What the subscriber's token says of it to the others (a display name, say). */
  readonly payload?: P;
}

export interface PresenceOptions {
  /** A token sent as `Authorization: Bearer`, to list and to follow. */
  token?: string;
  /** Called before each request for a token (see `subscribe`). */
  getToken?: () => string | Promise<string>;
  /** `include` to send the hub's cookie across origins, in browsers. */
  credentials?: Credentials;
  /** The matcher type of the subscriptions to watch: `exact` (`match=`, default) or `urlpattern`. */
  matchType?: "exact" | "urlpattern";
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** Aborting it closes the presence. */
  signal?: AbortSignal;
}

/** The events of a presence, with what each handler receives. */
export interface PresenceEvents<P> {
  /** The set of subscribers changed (after the list loaded, and after each join or leave). */
  change: ReadonlyMap<string, SubscriptionDocument<P>>;
  join: SubscriptionDocument<P>;
  leave: SubscriptionDocument<P>;
  /** Every error: those retried, and the one that ends the presence. */
  error: MercureError;
  /** The presence ended: by `close()` (no error) or by an error not retried (a 401, a 403). */
  close: { readonly error: MercureError | undefined };
}

/** The most pages of a list followed: a hub that keeps linking a next page is not followed for ever. */
export const MAX_PRESENCE_PAGES = 1000;

/**
 * The subscribers of a topic, live: `presence(hub, topic)` lists them through the hub's
 * subscription API (draft, "Active Subscriptions"; the hub runs with its subscriptions on), then
 * follows their subscription events from the list's cursor, so that no join or leave made between
 * the two is missed. Being present is subscribing to the topic: watching does not make the watcher
 * present (subscribe to the topic for that). The token needs the grants docs/presence.md lists.
 *
 * When the cursor is gone (the hub restarted, or more events came and went than it keeps), the list
 * is loaded again. The subscription events come on a connection of their own, since they follow a
 * cursor of their own.
 */
export function presence<P = unknown>(
  hub: string | URL,
  topic: string,
  options: PresenceOptions = {},
): Presence<P> {
  return new Presence<P>(hub, topic, options);
}

export class Presence<P = unknown> {
  readonly #emitter = new Emitter<PresenceEvents<P>>();
  readonly #subscribers = new Map<string, SubscriptionDocument<P>>();
  readonly #hub: URL;
  readonly #collection: URL;
  readonly #pattern: string;
  readonly #options: PresenceOptions;
  readonly #fetch: typeof fetch;
  #subscription: Subscription<unknown> | undefined;
  #closed = false;
  #resolveReady!: () => void;
  #rejectReady!: (error: MercureError) => void;
  /** Resolves once the subscribers were listed and their events are followed. */
  readonly ready: Promise<void>;

  /** @internal Made by `presence`. */
  constructor(hub: string | URL, topic: string, options: PresenceOptions) {
    try {
      this.#hub = new URL(hub, (globalThis as { location?: { href: string } }).location?.href);
    } catch {
      throw new MercureOptionsError("hub_url_invalid", `not a URL: ${String(hub)}`);
    }
    const matchType = options.matchType ?? "exact";
    if (matchType !== "exact" && matchType !== "urlpattern") {
      throw new MercureOptionsError("match_type_unknown", 'matchType is "exact" or "urlpattern"');
    }
    // The topic percent-encoded once, as the hub writes it in subscription topics and paths.
    const path = `${this.#hub.pathname.replace(/\/$/, "")}/subscriptions/${matchType}/${encodeSegment(topic)}`;
    this.#collection = new URL(path, this.#hub);
    this.#pattern = `${path}/:subscriber`;
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // also reported through 'error' and 'close'
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    if (options.signal?.aborted) this.close();
    else void this.#follow();
  }

  /** The active subscriptions to the topic, by their id. */
  get subscribers(): ReadonlyMap<string, SubscriptionDocument<P>> {
    return this.#subscribers;
  }

  /** Calls `handler` for each `event`; returns the function that stops it. */
  on<K extends keyof PresenceEvents<P>>(
    event: K,
    handler: (payload: PresenceEvents<P>[K]) => void,
  ): () => void {
    return this.#emitter.on(event, handler);
  }

  close(): void {
    this.#end(undefined);
  }

  #end(error: MercureError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscription?.close();
    this.#subscription = undefined;
    if (error !== undefined) {
      this.#emitter.emit("error", error);
      this.#rejectReady(error);
    } else this.#rejectReady(new MercureError("the presence was closed before it was ready"));
    this.#emitter.emit("close", { error });
  }

  /** Lists, then follows the events from the list's cursor; starts over when the cursor is lost. */
  async #follow(): Promise<void> {
    let listed: { documents: SubscriptionDocument<P>[]; cursor: string };
    try {
      listed = await this.#list();
    } catch (error) {
      this.#end(
        error instanceof MercureError ? error : new MercureNetworkError("listing failed", { cause: error }),
      );
      return;
    }
    if (this.#closed) return;
    this.#replace(listed.documents);
    const { token, getToken, credentials } = this.#options;
    const subscription = subscribe<unknown>(this.#hub, {
      matchUrlPattern: this.#pattern,
      lastEventId: listed.cursor,
      share: false,
      fetch: this.#fetch,
      ...(token === undefined ? {} : { token }),
      ...(getToken === undefined ? {} : { getToken }),
      ...(credentials === undefined ? {} : { credentials }),
    });
    this.#subscription = subscription;
    subscription.on("open", () => this.#resolveReady());
    subscription.on("message", (message) => {
      if (message.type === "mercure") this.#apply(message.data as SubscriptionDocument<P>);
    });
    subscription.on("gap", () => {
      // Events between the list and now may be lost: list again, from a fresh cursor.
      if (this.#subscription !== subscription) return;
      subscription.close();
      void this.#follow();
    });
    subscription.on("error", (error) => {
      if (this.#subscription === subscription) this.#emitter.emit("error", error);
    });
    subscription.on("close", ({ error }) => {
      if (this.#subscription === subscription && error !== undefined) {
        this.#subscription = undefined;
        this.#closed = true;
        this.#rejectReady(error);
        this.#emitter.emit("close", { error });
      }
    });
  }

  /** Every page of the list, and the cursor of the first. */
  async #list(): Promise<{ documents: SubscriptionDocument<P>[]; cursor: string }> {
    const documents: SubscriptionDocument<P>[] = [];
    let cursor: string | undefined;
    let next: URL | undefined = this.#collection;
    for (let page = 0; next !== undefined; page++) {
      if (page === MAX_PRESENCE_PAGES) {
        throw new MercureError(`the subscription list has more than ${MAX_PRESENCE_PAGES} pages`);
      }
      const response = await this.#get(next);
      const links = parseLinkHeader(response.headers.get("link") ?? "");
      if (cursor === undefined) {
        cursor = links
          .find((link) => relations(link.params).includes("mercure"))
          ?.params.get("last-event-id");
        if (cursor === undefined) {
          throw new MercureError(
            "the subscription list has no cursor (no last-event-id on its mercure link)",
          );
        }
      }
      const body = (await response.json()) as { subscriptions?: SubscriptionDocument<P>[] };
      documents.push(...(body.subscriptions ?? []));
      const nextLink = links.find((link) => relations(link.params).includes("next"));
      next = nextLink === undefined ? undefined : new URL(nextLink.target, next);
    }
    return { documents, cursor: cursor! };
  }

  async #get(url: URL): Promise<Response> {
    const { token, getToken, credentials } = this.#options;
    const bearer = getToken !== undefined ? await getToken() : token;
    let response: Response;
    try {
      response = await this.#fetch(url, {
        headers: {
          Accept: "application/json",
          ...(bearer === undefined ? {} : { Authorization: `Bearer ${bearer}` }),
        },
        ...(credentials === undefined ? {} : { credentials }),
        ...(this.#options.signal === undefined ? {} : { signal: this.#options.signal }),
      });
    } catch (error) {
      throw new MercureNetworkError("the subscription list could not be fetched", { cause: error });
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  /** Takes a fresh list as the whole state: who left and who came meanwhile is told. */
  #replace(documents: readonly SubscriptionDocument<P>[]): void {
    const fresh = new Map(documents.filter((doc) => doc.active).map((doc) => [doc.id, doc]));
    for (const [id, doc] of this.#subscribers) {
      if (!fresh.has(id)) {
        this.#subscribers.delete(id);
        this.#emitter.emit("leave", doc);
      }
    }
    for (const [id, doc] of fresh) {
      const known = this.#subscribers.has(id);
      this.#subscribers.set(id, doc);
      if (!known) this.#emitter.emit("join", doc);
    }
    this.#emitter.emit("change", this.#subscribers);
  }

  /** An event states a subscription's whole state: applying one twice changes nothing. */
  #apply(doc: SubscriptionDocument<P>): void {
    if (typeof doc !== "object" || doc === null || typeof doc.id !== "string") return;
    const known = this.#subscribers.get(doc.id);
    if (doc.active) {
      this.#subscribers.set(doc.id, doc);
      if (known === undefined) this.#emitter.emit("join", doc);
    } else {
      if (known === undefined) return;
      this.#subscribers.delete(doc.id);
      this.#emitter.emit("leave", known);
    }
    this.#emitter.emit("change", this.#subscribers);
  }
}

/** The `rel` values of a link, in lower case. */
function relations(params: ReadonlyMap<string, string>): string[] {
  return (params.get("rel") ?? "").toLowerCase().split(/\s+/);
}

/** Percent-encodes everything but `A-Z a-z 0-9 - . _ ~` (RFC 6570), as the hub does. */
function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
