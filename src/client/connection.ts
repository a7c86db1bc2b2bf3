import { type SseEvent, SseParser } from "../protocol/sse-parser.ts";
import { backoffDelay, type ReconnectOptions } from "./backoff.ts";
import { errorFromResponse, type MercureError, MercureNetworkError } from "./errors.ts";
import { headerToText } from "./header-bytes.ts";
import { buildSubscribeRequest, type Credentials, type MatcherParameter } from "./subscribe-request.ts";
import { refreshDelay, tokenExpiresAt } from "./token-expiry.ts";

/** The response header by which a hub says it reports, per event, the matchers the event matched. */
export const MATCHERS_REPORTED_HEADER = "quicksilver-matchers";
/** The SSE field holding those matchers' indexes. */
export const MATCHERS_FIELD = "matchers";

/** The longest delay `setTimeout` takes; a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A gap: the hub did not find the cursor sent, so updates may have been missed. */
export interface SubscriptionGap {
  /** The cursor the client sent. */
  readonly requested: string;
  /** What the hub answered instead: `earliest` (everything history keeps was replayed) or an id. */
  readonly anchor: string;
}

/** What a connection reports when it waits before connecting again. */
export interface Reconnecting {
  /** 1 for the first attempt after a success. */
  readonly attempt: number;
  readonly delayMs: number;
  /** Why: a network loss, a 429 or 503 of the hub, or a 502 or 504 of a proxy in front of it. */
  readonly error: MercureError;
}

/** One subscription, as a connection sees it. */
export interface Member {
  readonly matchers: readonly MatcherParameter[];
  /** The connection it is on: changed when it is moved to one of its own. */
  connection: HubConnection;
  /**
   * `matched`: the member's matchers the event matched, when the hub reported them (undefined
   * otherwise).
   */
  deliver(event: SseEvent, matched: readonly MatcherParameter[] | undefined): void;
  opened(anchor: string | undefined): void;
  gap(gap: SubscriptionGap): void;
  failed(error: MercureError): void;
  reconnecting(info: Reconnecting): void;
  /** The connection ended for good with this error: the subscription ends too. */
  ended(error: MercureError): void;
}

export interface ConnectionConfig {
  readonly hub: URL;
  readonly dialect: "draft" | "legacy";
  readonly token?: string | undefined;
  readonly getToken?: (() => string | Promise<string>) | undefined;
  readonly credentials?: Credentials | undefined;
  readonly fetch: typeof fetch;
  readonly maxUrlLength: number;
  readonly reconnect: ReconnectOptions;
  /** Nothing received for this long (not even a keep-alive) is a lost connection; 0: never. */
  readonly stallTimeoutMs: number;
  /** The cursor of the first request, sent as a parameter. */
  readonly lastEventId?: string | undefined;
  /** Whether subscriptions may share this connection (it then asks the hub to report matchers). */
  readonly shared: boolean;
  /** Whether to ask the hub to report matchers even when not shared (`reportMatchers`). */
  readonly reportMatchers?: boolean;
  /** Called once the connection has no member left, or ended. */
  readonly onEnded: (connection: HubConnection) => void;
  /**
   * Called when the hub did not report matchers: the hub cannot carry several subscriptions on one
   * connection. `moved` are the members to put on connections of their own, from `cursor`.
   */
  readonly onUnreported: (connection: HubConnection, moved: Member[], cursor: string | undefined) => void;
}

/**
 * One `fetch` stream to a hub, carrying one subscription or several (their matchers merged).
 * It reconnects after a network loss with backoff, from the last id it received, with a token
 * fetched anew each time; it reconnects on purpose, from that id too, when its token is about to
 * expire or its members change. Nothing is lost: the hub replays what came meanwhile.
 */
export class HubConnection {
  readonly #config: ConnectionConfig;
  readonly #members = new Set<Member>();
  /** Where to resume: the last id received, else the hub's anchor, else the first cursor. */
  #cursor: string | undefined;
  #connectedOnce = false;
  /** The hub's last `retry:`: no reconnection comes sooner. */
  #retryMs = 0;
  #attempt = 0;
  #started = false;
  #closed = false;
  /** Set when the current stream is ended on purpose, to reconnect at once. */
  #restart = false;
  #controller: AbortController | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  /** Cuts a request or stream that stays silent for stallTimeoutMs. */
  #stallTimer: ReturnType<typeof setTimeout> | undefined;
  #stalled = false;
  /** The matchers of the current request, in the order sent: the `matchers` field indexes them. */
  #sent: readonly MatcherParameter[] = [];
  #routed = false;

  constructor(config: ConnectionConfig) {
    this.#config = config;
    this.#cursor = config.lastEventId;
  }

  /** The resume point: the id of the last event received, or the hub's anchor. */
  get lastEventId(): string | undefined {
    return this.#cursor;
  }

  get size(): number {
    return this.#members.size;
  }

  /** Adds a member; a running connection reconnects with the merged matchers. */
  add(member: Member): void {
    this.#members.add(member);
    member.connection = this;
    if (!this.#started) {
      this.#started = true;
      // Started after the current task, so that subscriptions made together share the first request.
      queueMicrotask(() => void this.#run());
    } else {
      this.#reconnectNow();
    }
  }

  /** Removes a member; the last one closes the connection, others reconnect without its matchers. */
  remove(member: Member): void {
    if (!this.#members.delete(member)) return;
    if (this.#members.size === 0) this.close();
    else this.#reconnectNow();
  }

  /** Ends the stream for good. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#controller?.abort();
    this.#wake?.();
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#stallTimer);
    this.#config.onEnded(this);
  }

  /** The members' matchers, each once, in the order the members came. */
  #matcherList(): MatcherParameter[] {
    const seen = new Set<string>();
    const list: MatcherParameter[] = [];
    for (const member of this.#members) {
      for (const matcher of member.matchers) {
        const key = matcherKey(matcher);
        if (seen.has(key)) continue;
        seen.add(key);
        list.push(matcher);
      }
    }
    return list;
  }

  /** Ends the current stream, or the request being made, to reconnect at once from the cursor. */
  #reconnectNow(): void {
    this.#restart = true;
    this.#controller?.abort();
  }

  async #run(): Promise<void> {
    const config = this.#config;
    let unauthorizedRetried = false;
    while (!this.#closed) {
      clearTimeout(this.#stallTimer);
      this.#restart = false;
      const controller = new AbortController();
      this.#controller = controller;
      let token = config.token;
      if (config.getToken !== undefined) {
        try {
          token = await config.getToken();
        } catch (error) {
          if (this.#closed) break;
          await this.#retry(new MercureNetworkError("getToken failed", { cause: error }), 0);
          continue;
        }
        if (this.#closed) break;
        if (this.#restart) continue;
      }
      const first = !this.#connectedOnce;
      const cursor = this.#cursor;
      const sent = this.#matcherList();
      const { url, init } = buildSubscribeRequest(config.hub, {
        matchers: sent,
        dialect: config.dialect,
        cursorParameter: first ? cursor : undefined,
        cursorHeader: first ? undefined : cursor,
        token,
        credentials: config.credentials,
        reportMatchers: config.shared || config.reportMatchers === true,
        maxUrlLength: config.maxUrlLength,
        signal: controller.signal,
      });
      let response: Response;
      this.#stalled = false;
      this.#watchStall(controller);
      try {
        response = await config.fetch(url, init);
      } catch (error) {
        clearTimeout(this.#stallTimer);
        if (this.#closed) break;
        if (this.#restart) continue;
        await this.#retry(this.#lossError("the hub could not be reached", error), 0);
        continue;
      }
      if (this.#closed || this.#restart) {
        await response.body?.cancel().catch(() => {});
        continue;
      }
      if (!response.ok) {
        const error = await errorFromResponse(response);
        clearTimeout(this.#stallTimer);
        if (error.status === 401 && config.getToken !== undefined && !unauthorizedRetried) {
          // The token may have expired between getToken and the hub: one more try with a fresh one.
          unauthorizedRetried = true;
          continue;
        }
        if (error.status === 429 || error.status === 503) {
          await this.#retry(error, error.retryAfterMs ?? 0);
          continue;
        }
        if (error.status === 502 || error.status === 504) {
          // A proxy that could not reach the hub (restarting, say): a network loss one hop further.
          await this.#retry(error, 0);
          continue;
        }
        this.#fail(error);
        break;
      }
      unauthorizedRetried = false;
      this.#connectedOnce = true;
      this.#attempt = 0;
      this.#sent = sent;
      this.#routed = response.headers.get(MATCHERS_REPORTED_HEADER) === "reported";
      const anchorHeader = response.headers.get(
        config.dialect === "legacy" ? "last-event-id" : "mercure-last-event-id",
      );
      const anchor = anchorHeader === null ? undefined : headerToText(anchorHeader);

      if (config.shared && !this.#routed && this.#members.size > 1) {
        // The hub cannot say which subscription an event is for: none is guessed. Each member
        // but the first gets a connection of its own, from the point this request started.
        await response.body?.cancel().catch(() => {});
        const resume = cursor ?? (anchor === "earliest" ? undefined : anchor);
        const [, ...moved] = this.#members;
        for (const member of moved) this.#members.delete(member);
        this.#cursor = resume;
        config.onUnreported(this, moved, resume);
        continue;
      }
      if (config.shared && !this.#routed) config.onUnreported(this, [], undefined);

      if (cursor !== undefined && anchor !== undefined && anchor !== cursor) {
        for (const member of [...this.#members]) member.gap({ requested: cursor, anchor });
      }
      // Without a cursor, the anchor is the last event before the stream: resuming from it
      // loses nothing. `earliest` (an empty history) would replay everything: not a cursor.
      if (cursor === undefined && anchor !== undefined && anchor !== "earliest") this.#cursor = anchor;
      for (const member of [...this.#members]) member.opened(anchor);
      this.#scheduleRefresh(token);

      const failure = await this.#read(response, controller);
      clearTimeout(this.#refreshTimer);
      clearTimeout(this.#stallTimer);
      if (this.#closed) break;
      if (this.#restart) continue;
      await this.#retry(
        failure === undefined
          ? new MercureNetworkError("the hub ended the stream")
          : this.#lossError("the stream failed", failure),
        0,
      );
    }
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#stallTimer);
  }

  /** (Re)starts the silence timer: when it fires, the request or stream is cut as lost. */
  #watchStall(controller: AbortController): void {
    clearTimeout(this.#stallTimer);
    const timeout = this.#config.stallTimeoutMs;
    if (timeout <= 0) return;
    this.#stallTimer = setTimeout(
      () => {
        this.#stalled = true;
        controller.abort();
      },
      Math.min(MAX_TIMER_MS, timeout),
    );
  }

  #lossError(message: string, cause: unknown): MercureNetworkError {
    if (!this.#stalled) return new MercureNetworkError(message, { cause });
    return new MercureNetworkError(
      `nothing arrived for ${this.#config.stallTimeoutMs} ms, not even a keep-alive: the connection is taken as lost`,
    );
  }

  /** Reads the stream to its end; resolves with the error that cut it, if any. */
  async #read(response: Response, controller: AbortController): Promise<unknown> {
    if (response.body === null) return undefined;
    const parser = new SseParser({
      onEvent: (event) => this.#dispatch(event),
      onRetry: (ms) => {
        this.#retryMs = ms;
      },
    });
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return undefined;
        this.#watchStall(controller);
        parser.push(value);
      }
    } catch (error) {
      return error;
    } finally {
      reader.releaseLock();
    }
  }

  #dispatch(event: SseEvent): void {
    // Once a reconnection is asked for, the rest is left to the next stream, which resumes from
    // the last event delivered: it will come again, to the members of then.
    if (this.#closed || this.#restart) return;
    if (event.id !== "") this.#cursor = event.id;
    const members = [...this.#members];
    const indexes = this.#routed ? event.fields?.[MATCHERS_FIELD] : undefined;
    if (indexes === undefined) {
      for (const member of members) if (this.#members.has(member)) member.deliver(event, undefined);
      return;
    }
    const matched = new Set<string>();
    for (const index of indexes.split(" ")) {
      const matcher = this.#sent[Number(index)];
      if (index !== "" && matcher !== undefined) matched.add(matcherKey(matcher));
    }
    for (const member of members) {
      if (!this.#members.has(member)) continue;
      const own = member.matchers.filter((matcher) => matched.has(matcherKey(matcher)));
      // A member alone on its connection gets every event, as without routing.
      if (own.length > 0 || members.length === 1) member.deliver(event, own);
    }
  }

  /** With `getToken` and a token that expires, reconnects with a fresh one shortly before. */
  #scheduleRefresh(token: string | undefined): void {
    clearTimeout(this.#refreshTimer);
    if (this.#config.getToken === undefined || token === undefined) return;
    const expiresAt = tokenExpiresAt(token);
    if (expiresAt === undefined) return;
    const delay = Math.min(MAX_TIMER_MS, refreshDelay(expiresAt, Date.now()));
    this.#refreshTimer = setTimeout(() => this.#reconnectNow(), delay);
  }

  /** Reports `error`, then waits the backoff delay (at least `floorMs`); only close() cuts it short. */
  async #retry(error: MercureError, floorMs: number): Promise<void> {
    const attempt = ++this.#attempt;
    const delayMs = backoffDelay(attempt - 1, this.#config.reconnect, Math.max(floorMs, this.#retryMs));
    for (const member of [...this.#members]) {
      member.failed(error);
      member.reconnecting({ attempt, delayMs, error });
    }
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(MAX_TIMER_MS, delayMs));
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  /** Ends the connection with an error the SDK does not retry: every member ends with it. */
  #fail(error: MercureError): void {
    const members = [...this.#members];
    this.#members.clear();
    this.close();
    for (const member of members) member.ended(error);
  }
}

/** A matcher's identity: its parameter and value. */
export function matcherKey(matcher: MatcherParameter): string {
  return `${matcher.name}\u0000${matcher.value}`;
}
