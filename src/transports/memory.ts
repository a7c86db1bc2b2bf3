import type { Position, Replay, ReportsHistorySize, Transport, UpdateListener } from "../hub/transport.ts";
import { isRepeatOf, type Update } from "../hub/update.ts";
import { EARLIEST } from "../protocol/cursor.ts";
import {
  compareSeqPositions,
  mergeBySeq,
  type SequencedUpdate,
  sequenced,
  UpdateRing,
} from "./update-ring.ts";

/** Subscription events kept for presence clients reconnecting with a cursor, unless told otherwise. */
export const DEFAULT_SUBSCRIPTION_HISTORY_SIZE = 10_000;

export interface MemoryTransportOptions {
  /** How many updates history keeps; the oldest are dropped first. 0 keeps none. */
  readonly historySize: number;
  /** How many subscription events are kept, apart from the updates (default 10,000). */
  readonly subscriptionHistorySize?: number;
}

/**
 * History in ring buffers in this process: one for published updates, one for subscription
 * events. Finding a cursor is a Map lookup, never a scan from the oldest end. Positions are seqs,
 * counted from 1 in this process, in decimal.
 */
export class MemoryTransport implements Transport, ReportsHistorySize {
  readonly #updates: UpdateRing;
  readonly #subscriptionEvents: UpdateRing;
  #nextSeq = 1;
  #listener: UpdateListener = () => {};

  constructor(options: MemoryTransportOptions) {
    this.#updates = new UpdateRing(options.historySize);
    this.#subscriptionEvents = new UpdateRing(
      options.subscriptionHistorySize ?? DEFAULT_SUBSCRIPTION_HISTORY_SIZE,
      { owesEveryUpdate: false },
    );
  }

  listen(listener: UpdateListener): void {
    this.#listener = listener;
  }

  historySize(): number {
    return this.#updates.size;
  }

  async publish(update: Update): Promise<Position> {
    if (update.kind === "update") {
      const kept = this.#updates.findNewest(update.id);
      if (kept !== undefined && isRepeatOf(update, kept.update)) return kept.position;
    }
    const entry = sequenced(update, this.#nextSeq++);
    (update.kind === "subscription" ? this.#subscriptionEvents : this.#updates).push(entry);
    this.#listener(update, entry.position);
    return entry.position;
  }

  async replay(
    cursor: string,
    visible?: (update: Pick<Update, "topics" | "private">) => boolean,
  ): Promise<Replay> {
    const found = cursor === EARLIEST ? undefined : this.#find(cursor);
    const known = found !== undefined && (visible === undefined || visible(found.update));
    const after = known ? found.seq : 0;
    return {
      anchor: known ? cursor : EARLIEST,
      entries: mergeBySeq(this.#updates.after(after), this.#subscriptionEvents.after(after)),
    };
  }

  comparePositions(a: Position, b: Position): number {
    return compareSeqPositions(a, b);
  }

  /** The earliest kept occurrence of an id, in either ring (a publisher may reuse any id). */
  #find(id: string): SequencedUpdate | undefined {
    const update = this.#updates.find(id);
    const event = this.#subscriptionEvents.find(id);
    if (update === undefined || event === undefined) return update ?? event;
    return update.seq < event.seq ? update : event;
  }

  async close(): Promise<void> {}
}
