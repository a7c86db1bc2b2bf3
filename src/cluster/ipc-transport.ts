import {
  type Position,
  type Replay,
  type ReplayEntry,
  type ReportsHealth,
  type SharedTransport,
  type Transport,
  TransportError,
  type TransportHealth,
  type UpdateListener,
} from "../hub/transport.ts";
import type { Update } from "../hub/update.ts";
import { EARLIEST } from "../protocol/cursor.ts";
import { decodeUpdate, encodeUpdate } from "../transports/update-codec.ts";
import { compareSeqPositions } from "../transports/update-ring.ts";
import type { Channel, PrimaryMessage, WorkerMessage } from "./messages.ts";

type Answer = Extract<PrimaryMessage, { n: number }>;

const GONE = { healthy: false, reason: "the primary process, which holds the store, is gone" } as const;

/**
 * A worker's transport when the primary holds the store (src/cluster/store-relay.ts): publishes
 * and replays are requests over the IPC channel, and the updates every worker stores arrive from
 * the primary, in the order of their positions. Positions are the primary's store's own, which
 * the relay's transports (memory, SQLite) count as seqs in decimal.
 */
export class IpcTransport implements Transport, SharedTransport, ReportsHealth {
  readonly nodeId: string;
  readonly #channel: Channel;
  readonly #active: readonly Update[];
  #listener: UpdateListener | undefined;
  /** Updates that arrived before the hub listened, handed over when it does. */
  #early: [Update, Position][] = [];
  readonly #waiting = new Map<
    number,
    { resolve: (answer: Answer) => void; reject: (error: Error) => void }
  >();
  #next = 1;
  #health: TransportHealth = { healthy: true };
  readonly #onMessage = (message: unknown) => this.#receive(message as PrimaryMessage);
  readonly #onDisconnect = () => {
    this.#health = GONE;
    for (const waiting of this.#waiting.values()) waiting.reject(new TransportError(GONE.reason));
    this.#waiting.clear();
  };

  private constructor(channel: Channel, opened: Extract<PrimaryMessage, { t: "opened" }>) {
    this.#channel = channel;
    this.nodeId = opened.nodeId;
    this.#active = opened.active.map(decodeUpdate);
  }

  /** Asks the primary for the active subscriptions, after which every stored update arrives. */
  static open(channel: Channel): Promise<IpcTransport> {
    return new Promise((resolve, reject) => {
      const early: PrimaryMessage[] = [];
      let transport: IpcTransport | undefined;
      const onDisconnect = () => reject(new TransportError(GONE.reason));
      // Messages that follow `opened` in the same read are kept, then received in order.
      const onMessage = (message: unknown) => {
        const received = message as PrimaryMessage;
        if (transport !== undefined) early.push(received);
        else if (received.t === "opened") {
          transport = new IpcTransport(channel, received);
          channel.off("disconnect", onDisconnect);
          channel.on("disconnect", transport.#onDisconnect);
          queueMicrotask(() => {
            channel.off("message", onMessage);
            channel.on("message", transport!.#onMessage);
            for (const kept of early) transport!.#receive(kept);
            resolve(transport!);
          });
        }
      };
      channel.on("message", onMessage);
      channel.on("disconnect", onDisconnect);
      channel.send({ t: "open" } satisfies WorkerMessage);
    });
  }

  activeSubscriptionsAtOpen(): readonly Update[] {
    return this.#active;
  }

  health(): TransportHealth {
    return this.#health;
  }

  listen(listener: UpdateListener): void {
    this.#listener = listener;
    const early = this.#early;
    this.#early = [];
    for (const [update, position] of early) listener(update, position);
  }

  async publish(update: Update): Promise<Position> {
    const answer = await this.#ask((n) => ({ t: "publish", n, update: encodeUpdate(update) }));
    if (answer.t !== "stored") throw new TransportError("the primary answered a publish out of turn");
    return answer.position;
  }

  async replay(
    cursor: string,
    visible?: (update: Pick<Update, "topics" | "private">) => boolean,
  ): Promise<Replay> {
    const { n, anchor, cursorUpdate } = await this.#startReplay(cursor);
    if (cursorUpdate !== undefined && visible !== undefined && !visible(cursorUpdate)) {
      // A cursor the subscriber may not know of is answered as an unknown one.
      this.#send({ t: "stop", n });
      return this.replay(EARLIEST);
    }
    return { anchor, entries: this.#pages(n) };
  }

  comparePositions(a: Position, b: Position): number {
    return compareSeqPositions(a, b);
  }

  async close(): Promise<void> {
    this.#channel.off("message", this.#onMessage);
    this.#channel.off("disconnect", this.#onDisconnect);
  }

  async #startReplay(cursor: string) {
    let number = 0;
    const answer = await this.#ask((n) => {
      number = n;
      return { t: "replay", n, cursor };
    });
    if (answer.t !== "replaying") throw new TransportError("the primary answered a replay out of turn");
    return { n: number, anchor: answer.anchor, cursorUpdate: answer.cursorUpdate };
  }

  /** A replay's entries, a page at a time; abandoning it tells the primary to let it go. */
  async *#pages(n: number): AsyncGenerator<ReplayEntry> {
    let done = false;
    try {
      while (!done) {
        const answer = await this.#ask(() => ({ t: "page", n }), n);
        if (answer.t !== "entries") throw new TransportError("the primary answered a replay out of turn");
        done = answer.done;
        for (const [update, position] of answer.entries) yield { update: decodeUpdate(update), position };
      }
    } finally {
      if (!done) this.#send({ t: "stop", n });
    }
  }

  /** Sends a request and waits for its answer; a refusal of the store rejects with `TransportError`. */
  #ask(request: (n: number) => WorkerMessage, n = this.#next++): Promise<Answer> {
    if (this.#health === GONE) return Promise.reject(new TransportError(GONE.reason));
    return new Promise<Answer>((resolve, reject) => {
      this.#waiting.set(n, { resolve, reject });
      this.#send(request(n));
    }).then((answer) => {
      if (answer.t === "failed") throw new TransportError(answer.message);
      return answer;
    });
  }

  #send(message: WorkerMessage): void {
    try {
      this.#channel.send(message);
    } catch {
      this.#onDisconnect();
    }
  }

  #receive(message: PrimaryMessage): void {
    switch (message.t) {
      case "update": {
        const [text, position] = message.entry;
        const update = decodeUpdate(text);
        if (this.#listener === undefined) this.#early.push([update, position]);
        else this.#listener(update, position);
        return;
      }
      case "health":
        this.#health = message.health;
        return;
      case "stored":
      case "failed":
      case "replaying":
      case "entries": {
        const waiting = this.#waiting.get(message.n);
        this.#waiting.delete(message.n);
        waiting?.resolve(message);
        return;
      }
      default:
        return; // "shutdown" is the worker's entry's
    }
  }
}
