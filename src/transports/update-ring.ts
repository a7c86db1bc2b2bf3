import type { Update } from "../hub/update.ts";

/**
 * The newest updates in memory, at most `capacity` of them, oldest dropped first. Seqs increase
 * along the ring (they need not be consecutive), so the place of a seq is a binary search, and an
 * id is found through a map, never by a scan from the oldest end.
 */
export class UpdateRing {
  readonly #capacity: number;
  readonly #slots: (Update | undefined)[];
  /** Index in `#slots` of the oldest update, and how many are kept. */
  #head = 0;
  #size = 0;
  /** id → seq of its earliest kept occurrence (a reused id means its earliest one). */
  readonly #positions = new Map<string, number>();

  constructor(capacity: number) {
    this.#capacity = Math.max(0, Math.floor(capacity));
    this.#slots = new Array(this.#capacity);
  }

  get size(): number {
    return this.#size;
  }

  get newest(): Update | undefined {
    return this.#size === 0 ? undefined : this.#at(this.#size - 1);
  }

  /** Keeps `update` (its seq above every kept one), dropping the oldest when full. */
  push(update: Update): void {
    if (this.#capacity === 0) return;
    if (this.#size === this.#capacity) this.#dropOldest();
    this.#slots[(this.#head + this.#size) % this.#capacity] = update;
    this.#size++;
    if (!this.#positions.has(update.id)) this.#positions.set(update.id, update.seq);
  }

  /** The earliest kept update with this id. */
  find(id: string): Update | undefined {
    const seq = this.#positions.get(id);
    return seq === undefined ? undefined : this.#at(this.#indexAfter(seq - 1));
  }

  /**
   * The kept updates whose seq is above `seq`, oldest first. Read lazily: an update pushed while
   * the caller is between two steps is yielded too, and one dropped meanwhile is skipped.
   */
  *after(seq: number): Generator<Update> {
    let last = seq;
    let index = this.#indexAfter(last);
    for (;;) {
      // The next offset, unless updates were dropped meanwhile: then it is searched for again.
      if (index > this.#size || (index > 0 && this.#at(index - 1).seq > last)) index = this.#indexAfter(last);
      if (index === this.#size) return;
      const update = this.#at(index++);
      yield update;
      last = update.seq;
    }
  }

  #dropOldest(): void {
    const oldest = this.#slots[this.#head]!;
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
    if (this.#positions.get(oldest.id) === oldest.seq) {
      this.#positions.delete(oldest.id);
      // The id may have been reused by a later update still kept: it becomes the earliest one.
      for (let i = 0; i < this.#size; i++) {
        const update = this.#at(i);
        if (update.id === oldest.id) {
          this.#positions.set(oldest.id, update.seq);
          break;
        }
      }
    }
  }

  #at(offset: number): Update {
    return this.#slots[(this.#head + offset) % this.#capacity]!;
  }

  /** The offset of the first kept update whose seq is above `seq` (`size` when none is). */
  #indexAfter(seq: number): number {
    let low = 0;
    let high = this.#size;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.#at(middle).seq <= seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** Two sequences of updates, each in seq order, as one in seq order. */
export function* mergeBySeq(first: Iterator<Update>, second: Iterator<Update>): Generator<Update> {
  let a = first.next();
  let b = second.next();
  while (!a.done || !b.done) {
    if (b.done || (!a.done && a.value.seq < b.value.seq)) {
      yield a.value as Update;
      a = first.next();
    } else {
      yield b.value;
      b = second.next();
    }
  }
}
