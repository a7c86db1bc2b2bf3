import { setTimeout as sleep } from "node:timers/promises";
import { openStream, type Stream, subscribeUrl } from "./sse-client.ts";

/** How one stream of a reconnecting subscriber ended. */
export interface StreamEnd {
  /** The hub URL it was open on. */
  readonly hubUrl: string;
  /** Whether the hub ended the response cleanly (its chunked body terminated), not cut. */
  readonly cleanly: boolean;
  /** The reconnection delays the hub asked for on it. */
  readonly retries: readonly number[];
}

/**
 * A subscriber that behaves as an EventSource behind a load balancer: when its stream ends, it
 * waits the reconnection delay the hub last asked for, then reconnects to the next hub that
 * answers (the other one first), with the id of the last event it received as its cursor. It
 * keeps every event id it received, in order, duplicates included: what a test checks.
 */
export class ReconnectingSubscriber {
  readonly ids: string[] = [];
  readonly ends: StreamEnd[] = [];
  readonly #hubUrls: () => readonly string[];
  readonly #topic: string;
  readonly #token: string;
  #cursor: string;
  #retryMs = 0;
  #stream: Stream | undefined;
  #stopped = false;
  readonly #running: Promise<void>;
  #waiters: (() => void)[] = [];

  /**
   * `hubUrls` gives the hubs in the subscriber's order of preference, asked at each reconnection
   * (a restarted hub may have a new port); `cursor` is its first `Last-Event-ID`.
   */
  constructor(options: {
    hubUrls: () => readonly string[];
    topic: string;
    token: string;
    cursor: string;
  }) {
    this.#hubUrls = options.hubUrls;
    this.#topic = options.topic;
    this.#token = options.token;
    this.#cursor = options.cursor;
    this.#running = this.#run();
    // A failure shows in what the test checks; it must not be an unhandled rejection first.
    this.#running.catch(() => {});
  }

  /** Whether it has a stream open now. */
  get connected(): boolean {
    return this.#stream !== undefined;
  }

  /** Resolves once `predicate` holds, checked at each event and each (re)connection. */
  until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (predicate()) resolve();
        else this.#waiters.push(check);
      };
      this.#waiters.push(check);
    });
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const check of waiters) check();
  }

  async #run(): Promise<void> {
    let preferred = 0;
    while (!this.#stopped) {
      const stream = await this.#connect(preferred);
      if (stream === undefined) return;
      const { hubUrl, stream: open } = stream;
      preferred = this.#hubUrls().indexOf(hubUrl) + 1; // the other hub, next time
      this.#stream = open;
      let seen = 0;
      const take = () => {
        for (; seen < open.events.length; seen++) {
          const id = open.events[seen]!.id;
          this.ids.push(id);
          this.#cursor = id;
        }
        this.#notify();
      };
      this.#notify();
      while (true) {
        const more = open.waitForEvents(seen + 1).then(
          () => true,
          () => false,
        );
        const going = await more;
        take();
        if (!going) break;
      }
      const cleanly = await open.endedCleanly;
      this.#stream = undefined;
      this.ends.push({ hubUrl, cleanly, retries: [...open.retries] });
      this.#retryMs = open.retries.at(-1) ?? this.#retryMs;
      this.#notify();
      if (this.#stopped) return;
      await sleep(this.#retryMs);
    }
  }

  /** The first hub that accepts the stream, trying from `preferred` on, round and round. */
  async #connect(preferred: number): Promise<{ hubUrl: string; stream: Stream } | undefined> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      const urls = this.#hubUrls();
      const hubUrl = urls[(preferred + attempt) % urls.length]!;
      try {
        const stream = await openStream(subscribeUrl(hubUrl, [["match", this.#topic]]), {
          headers: { Authorization: `Bearer ${this.#token}`, "Last-Event-ID": this.#cursor },
        });
        if (stream.status === 200) return { hubUrl, stream };
        stream.close();
      } catch {
        // Refused: that hub is down; the next one is tried.
      }
      if (attempt % urls.length === urls.length - 1) await sleep(50); // every hub refused: a pause
    }
    return undefined;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stream?.close();
    await this.#running;
  }
}
