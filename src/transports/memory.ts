import type { Replay, Transport } from "../hub/transport.ts";
import type { Update } from "../hub/update.ts";

export interface MemoryTransportOptions {
  /** How many updates history keeps; the oldest are dropped first. 0 keeps none. */
  readonly historySize: number;
}

/**
 * History in a ring buffer in this process. Finding a cursor is a Map lookup, never a scan from
 * the oldest end.
 */
export class MemoryTransport implements Transport {
  readonly #capacity: number;
  readonly #ring: (Update | undefined)[];
  /** Index in the ring of the oldest update, and how many are kept. */
  #head = 0;
  #size = 0;
  #nextSeq = 1;
  /** id → seq of its earliest kept occurrence (a reused id means its earliest one). */
  readonly #positions = new Map<string, number>();
  #listener: (update: Update) => void = () => {};

  constructor(options: MemoryTransportOptions) {
    this.#capacity = Math.max(0, Math.floor(options.historySize));
    this.#ring = new Array(this.#capacity);
  }

  listen(listener: (update: Update) => void): void {
    this.#listener = listener;
  }

  async publish(update: Update): Promise<void> {
    update.seq = this.#nextSeq++;
    if (this.#capacity > 0) this.#store(update);
    this.#listener(update);
  }

  #store(update: Update): void {
    if (this.#size === this.#capacity) this.#evictOldest();
    this.#ring[(this.#head + this.#size) % this.#capacity] = update;
    this.#size++;
    if (!this.#positions.has(update.id)) this.#positions.set(update.id, update.seq);
  }

  #evictOldest(): void {
    const oldest = this.#ring[this.#head]!;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
    if (this.#positions.get(oldest.id) === oldest.seq) {
      this.#positions.delete(oldest.id);
      // The id may have been reused by a later update still kept: it becomes the earliest one.
      const next = this.#findFrom(0, (u) => u.id === oldest.id);
      if (next !== undefined) this.#positions.set(oldest.id, next.seq);
    }
  }

  #at(offset: number): Update {
    return this.#ring[(this.#head + offset) % this.#capacity]!;
  }

  #findFrom(offset: number, predicate: (update: Update) => boolean): Update | undefined {
    for (let i = offset; i < this.#size; i++) {
      const update = this.#at(i);
      if (predicate(update)) return update;
    }
    return undefined;
  }

  replay(cursor: string): Replay {
    if (this.#size === 0) return { anchor: "earliest", updates: [] };
    const oldestSeq = this.#at(0).seq;
    const seq = cursor === "earliest" ? undefined : this.#positions.get(cursor);
    // Seqs of kept updates are consecutive, so the cursor's offset in the ring is arithmetic.
    const start = seq === undefined ? 0 : seq - oldestSeq + 1;
    const updates: Update[] = [];
    for (let i = start; i < this.#size; i++) updates.push(this.#at(i));
    return { anchor: seq === undefined ? "earliest" : cursor, updates };
  }

  lastEventId(): string | undefined {
    return this.#size === 0 ? undefined : this.#at(this.#size - 1).id;
  }

  async close(): Promise<void> {}
}
