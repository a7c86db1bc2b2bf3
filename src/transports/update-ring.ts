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
  /**
   * id → the seqs of its kept occurrences, oldest first: a number for an id kept once (the usual
   * case), a queue for a reused one. The oldest update dropped is always the earliest occurrence
   * of its id, so dropping it is constant work, never a search of the ring for the next one.
   */
  readonly #occurrences = new Map<string, number | SeqQueue>();

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
    const id = update.id;
    const kept = this.#occurrences.get(id);
    if (kept === undefined) this.#occurrences.set(id, update.seq);
    else if (typeof kept === "number") this.#occurrences.set(id, new SeqQueue(kept, update.seq));
    else kept.push(update.seq);
  }

  /** The earliest kept update with this id. */
  find(id: string): Update | undefined {
    const kept = this.#occurrences.get(id);
    if (kept === undefined) return undefined;
    const seq = typeof kept === "number" ? kept : kept.first;
    return this.#at(this.#indexAfter(seq - 1));
  }

  /**
   * The kept updates whose seq is above `seq`, oldest first. Read lazily: an update pushed while
   * the caller is between two steps is yielded too, and one dropped meanwhile is skipped.
   */
  *after(seq: number): Generator<Update> {
    let last = seq;
    for (;;) {
      const index = this.#indexAfter(last);
      if (index === this.#size) return;
      const update = this.#at(index);
      yield update;
      last = update.seq;
    }
  }

  #dropOldest(): void {
    const oldest = this.#slots[this.#head]!;
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
    const id = oldest.id;
    const kept = this.#occurrences.get(id)!;
    if (typeof kept === "number") this.#occurrences.delete(id);
    else {
      // The next occurrence still kept becomes the earliest one.
      kept.shift();
      if (kept.length === 1) this.#occurrences.set(id, kept.first);
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

/** The seqs of a reused id's occurrences, oldest first; taken from the front without copying. */
class SeqQueue {
  #seqs: number[];
  #head = 0;

  constructor(first: number, second: number) {
    this.#seqs = [first, second];
  }

  get first(): number {
    return this.#seqs[this.#head]!;
  }

  get length(): number {
    return this.#seqs.length - this.#head;
  }

  push(seq: number): void {
    this.#seqs.push(seq);
  }

  shift(): void {
    this.#head++;
    // Compacted once the consumed front outgrows what is left: amortized constant work.
    if (this.#head > 32 && this.#head * 2 > this.#seqs.length) {
      this.#seqs = this.#seqs.slice(this.#head);
      this.#head = 0;
    }
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
