import type { SseEvent } from "../protocol/sse-parser.ts";
import type { HubConnection, Member, Reconnecting, SubscriptionGap } from "./connection.ts";
import { Emitter } from "./emitter.ts";
import { MercureBufferOverflowError, type MercureError, MercureParseError } from "./errors.ts";
import type { MatcherParameter } from "./subscribe-request.ts";

/** One update (or subscription event) received. */
export interface MercureMessage<T = unknown> {
  /** The event's id: a cursor to resume from. */
  readonly id: string;
  /** The SSE `event` type: `message` unless the update has one (`mercure` for subscription events). */
  readonly type: string;
  /** The data, as the subscription's `parse` made it. */
  readonly data: T;
  /** The data as received. */
  readonly raw: string;
  /**
   * The subscription's matchers this event matched, as given in the options, when the hub reports
   * them (Quicksilver does, see `reportMatchers`): events carry no topics, this says which of yours
   * brought it.
   */
  readonly matched?: readonly ReportedMatcher[];
  /** Whether the update is private, when the hub reports matchers (undefined otherwise). */
  readonly private?: boolean;
}

/** One matcher of a subscription, by the option that gave it. */
export interface ReportedMatcher {
  readonly option: "match" | "matchUrlPattern" | "topic";
  readonly value: string;
}

/** The SSE field by which a hub that reports matchers marks a private update. */
export const PRIVATE_FIELD = "private";

function matcherOption(matcher: MatcherParameter): ReportedMatcher {
  const option = matcher.name === "match_urlpattern" ? "matchUrlPattern" : matcher.name;
  return { option, value: matcher.value };
}

/** The events of a subscription, with what each handler receives. */
export interface SubscriptionEvents<T> {
  /** An update. */
  message: MercureMessage<T>;
  /** A stream is open (again); `anchor` is the hub's `Mercure-Last-Event-ID`, when it sent one. */
  open: { readonly anchor: string | undefined };
  /** The cursor sent was not found: updates may have been missed, refetch the state. Events still flow. */
  gap: SubscriptionGap;
  /** Every error: those retried (a network loss, 429, 503) and the one that ends the subscription. */
  error: MercureError;
  /** A reconnection is scheduled after `delayMs`. */
  reconnecting: Reconnecting;
  /** The subscription ended: by `close()` (no error) or by an error the SDK does not retry. */
  close: { readonly error: MercureError | undefined };
}

/**
 * A subscription to a hub: an async iterable of its messages, and an emitter of its events. It
 * reconnects by itself after a network loss; it ends at `close()`, when its signal aborts, when
 * a `for await` over it stops, or with an error the SDK does not retry (401, 403, 406, other
 * 4xx), which the iterator then throws.
 */
export class Subscription<T = unknown> implements AsyncIterable<MercureMessage<T>> {
  readonly #emitter = new Emitter<SubscriptionEvents<T>>();
  readonly #member: Member;
  readonly #parse: (data: string) => T;
  readonly #maxBuffered: number;
  readonly #closed: Promise<MercureError | undefined>;
  #resolveClosed!: (error: MercureError | undefined) => void;
  #done = false;
  #error: MercureError | undefined;
  #lastEventId: string | undefined;
  /** The last event ID before the message being delivered: where to resume if a loop drops it. */
  #previousLastEventId: string | undefined;
  #detachSignal: (() => void) | undefined;

  /** @internal Made by `subscribe`. */
  constructor(
    matchers: readonly MatcherParameter[],
    parse: (data: string) => T,
    lastEventId: string | undefined,
    signal: AbortSignal | undefined,
    maxBuffered: number,
  ) {
    this.#parse = parse;
    this.#maxBuffered = maxBuffered;
    this.#lastEventId = lastEventId;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#member = {
      matchers,
      connection: undefined as unknown as HubConnection,
      deliver: (event, matched) => this.#deliver(event, matched),
      opened: (anchor) => {
        if (this.#lastEventId === undefined && anchor !== undefined && anchor !== "earliest") {
          this.#lastEventId = anchor;
        }
        this.#emitter.emit("open", { anchor });
      },
      gap: (gap) => this.#emitter.emit("gap", gap),
      failed: (error) => this.#emitter.emit("error", error),
      reconnecting: (info) => this.#emitter.emit("reconnecting", info),
      ended: (error) => this.#end(error),
    };
    if (signal !== undefined) {
      const abort = () => this.close();
      signal.addEventListener("abort", abort, { once: true });
      this.#detachSignal = () => signal.removeEventListener("abort", abort);
    }
  }

  /** @internal The subscription as its connection sees it. */
  get member(): Member {
    return this.#member;
  }

  /**
   * The id of the last message this subscription received (else the hub's anchor, else the
   * `lastEventId` it was given): pass it as `lastEventId` to resume later.
   */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /** Resolves once the subscription ended: with the error that ended it, or undefined after `close()`. */
  get closed(): Promise<MercureError | undefined> {
    return this.#closed;
  }

  /** Calls `handler` for each `event`; returns the function that stops it. */
  on<K extends keyof SubscriptionEvents<T>>(
    event: K,
    handler: (payload: SubscriptionEvents<T>[K]) => void,
  ): () => void {
    return this.#emitter.on(event, handler);
  }

  /** Ends the subscription; its connection closes if no other subscription shares it. */
  close(): void {
    if (this.#done) return;
    this.#member.connection?.remove(this.#member);
    this.#end(undefined);
  }

  #end(error: MercureError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = error;
    this.#detachSignal?.();
    if (error !== undefined) this.#emitter.emit("error", error);
    this.#emitter.emit("close", { error });
    this.#resolveClosed(error);
  }

  #deliver(event: SseEvent, matched: readonly MatcherParameter[] | undefined): void {
    if (this.#done) return;
    this.#previousLastEventId = this.#lastEventId;
    if (event.id !== "") this.#lastEventId = event.id;
    let data: T;
    try {
      data = this.#parse(event.data);
    } catch (error) {
      this.#emitter.emit("error", new MercureParseError(event.id, { cause: error }));
      return;
    }
    const reported =
      matched === undefined
        ? {}
        : { matched: matched.map(matcherOption), private: event.fields?.[PRIVATE_FIELD] === "1" };
    this.#emitter.emit("message", { id: event.id, type: event.type, data, raw: event.data, ...reported });
  }

  /**
   * The messages from now on, until the subscription ends (then the iterator throws the error
   * that ended it, if any). Leaving the loop early (`break`, `return`, a throw) closes the
   * subscription. Messages wait in memory until the loop takes them, up to `maxBufferedMessages`:
   * one more ends the subscription with `MercureBufferOverflowError` (that message not counted
   * as received, so resuming from `lastEventId` loses nothing).
   */
  [Symbol.asyncIterator](): AsyncIterator<MercureMessage<T>> {
    const queue: MercureMessage<T>[] = [];
    let waiting: {
      resolve: (result: IteratorResult<MercureMessage<T>>) => void;
      reject: (e: unknown) => void;
    };
    let pending = false;
    let finished = this.#done;
    let failure = this.#error;
    const offMessage = this.on("message", (message) => {
      if (pending) {
        pending = false;
        waiting.resolve({ value: message, done: false });
      } else if (queue.length < this.#maxBuffered) {
        queue.push(message);
      } else {
        this.#lastEventId = this.#previousLastEventId;
        this.#member.connection?.remove(this.#member);
        this.#end(new MercureBufferOverflowError(this.#maxBuffered));
      }
    });
    const offClose = this.on("close", ({ error }) => {
      finished = true;
      failure = error;
      if (pending) {
        pending = false;
        settle(waiting.resolve, waiting.reject);
      }
    });
    const detach = () => {
      offMessage();
      offClose();
    };
    const settle = (
      resolve: (result: IteratorResult<MercureMessage<T>>) => void,
      reject: (e: unknown) => void,
    ) => {
      detach();
      if (failure !== undefined) {
        const error = failure;
        failure = undefined;
        reject(error);
      } else {
        resolve({ value: undefined, done: true });
      }
    };
    return {
      next: () =>
        new Promise((resolve, reject) => {
          const message = queue.shift();
          if (message !== undefined) resolve({ value: message, done: false });
          else if (finished) settle(resolve, reject);
          else {
            pending = true;
            waiting = { resolve, reject };
          }
        }),
      return: async () => {
        detach();
        queue.length = 0;
        this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
