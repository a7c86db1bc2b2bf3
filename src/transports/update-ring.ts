import { type Position, TransportError } from "../hub/transport.ts";
import type { Update } from "../hub/update.ts";

/**
 * An update as the memory and SQLite transports keep it: with its seq, their order, and the
 * position the hub is given, the same seq in decimal (see `compareSeqPositions`).
 */
export interface SequencedUpdate {
  readonly update: Update;
  readonly seq: number;
  readonly position: Position;
}

export function sequenced(update: Update, seq: number): SequencedUpdate {
  return { update, seq, position: String(seq) };
}

/** The order of positions that are seqs in decimal. */
export function compareSeqPositions(a: Position, b: Position): number {
  return Number(a) - Number(b);
}

/**
 * The newest updates in memory, at most `capacity` of them, oldest dropped first. Seqs increase
 * along the ring (they need not be consecutive), so the place of a seq is a binary search, and an
 * id is found through a map, never by a scan from the oldest end.
 */
export class UpdateRing {
  readonly #capacity: number;
  readonly #slots: (SequencedUpdate | undefined)[];
  /** Index in `#slots` of the oldest update, and how many are kept. */
  #head = 0;
  #size = 0;
  /** The seq of the newest update dropped so far (0 before the first). */
  #droppedThrough = 0;
  /**
   * id → the seqs of its kept occurrences, oldest first: a number for an id kept once (the usual
   * case), a queue for a reused one. The oldest update dropped is always the earliest occurrence
   * of its id, so dropping it is constant work, never a search of the ring for the next one.
   */
  readonly #occurrences = new Map<string, number | SeqQueue>();

  /** Whether a replay overtaken by the ring's dropping throws (published history) or skips on. */
  readonly #owesEveryUpdate: boolean;

  /**
   * `owesEveryUpdate`: a replay must send every update kept when it began, or fail. Subscription
   * events do not owe that: they churn with presence, a subscriber that never matches them would
   * have its slow replays cut for their sake, and presence clients can list the subscriptions.
   */
  constructor(capacity: number, options: { owesEveryUpdate?: boolean } = {}) {
    this.#capacity = Math.max(0, Math.floor(capacity));
    this.#slots = new Array(this.#capacity);
    this.#owesEveryUpdate = options.owesEveryUpdate ?? true;
  }

  get size(): number {
    return this.#size;
  }

  /** Keeps `entry` (its seq above every kept one), dropping the oldest when full. */
  push(entry: SequencedUpdate): void {
    if (this.#capacity === 0) return;
    if (this.#size === this.#capacity) this.#dropOldest();
    this.#slots[(this.#head + this.#size) % this.#capacity] = entry;
    this.#size++;
    const id = entry.update.id;
    const kept = this.#occurrences.get(id);
    if (kept === undefined) this.#occurrences.set(id, entry.seq);
    else if (typeof kept === "number") this.#occurrences.set(id, new SeqQueue(kept, entry.seq));
    else kept.push(entry.seq);
  }

  /** The earliest kept update with this id. */
  find(id: string): SequencedUpdate | undefined {
    const kept = this.#occurrences.get(id);
    if (kept === undefined) return undefined;
    const seq = typeof kept === "number" ? kept : kept.first;
    return this.#at(this.#indexAfter(seq - 1));
  }

  /** The newest kept update with this id: the one a repeated publish is compared with. */
  findNewest(id: string): SequencedUpdate | undefined {
    const kept = this.#occurrences.get(id);
    if (kept === undefined) return undefined;
    const seq = typeof kept === "number" ? kept : kept.last;
    return this.#at(this.#indexAfter(seq - 1));
  }

  /**
   * The updates kept now whose seq is above `seq`, oldest first. Read lazily: an update pushed
   * while the caller is between two steps is yielded too. One dropped meanwhile, before it was
   * yielded, cannot be: the iteration throws a TransportError rather than skip it (unless the
   * ring does not owe every update, see the constructor).
   */
  after(seq: number): Generator<SequencedUpdate> {
    // Updates dropped before now are not owed: the sequence starts at the oldest one kept.
    return this.#yieldAfter(Math.max(seq, this.#droppedThrough));
  }

  *#yieldAfter(seq: number): Generator<SequencedUpdate> {
    let last = seq;
    let index = this.#indexAfter(last);
    for (;;) {
      if (this.#droppedThrough > last && this.#owesEveryUpdate) throw overtaken();
      // The next offset, unless updates were dropped meanwhile: then it is searched for again.
      if (index > this.#size || (index > 0 && this.#at(index - 1).seq > last)) index = this.#indexAfter(last);
      if (index === this.#size) return;
      const entry = this.#at(index++);
      yield entry;
      last = entry.seq;
    }
  }

  #dropOldest(): void {
    const oldest = this.#slots[this.#head]!;
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
    this.#droppedThrough = oldest.seq;
    const id = oldest.update.id;
    const kept = this.#occurrences.get(id)!;
    if (typeof kept === "number") this.#occurrences.delete(id);
    else {
      // The next occurrence still kept becomes the earliest one.
      kept.shift();
      if (kept.length === 1) this.#occurrences.set(id, kept.first);
    }
  }

  #at(offset: number): SequencedUpdate {
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

/**
 * A replay that history's retention overtook: updates it had yet to send were dropped while it
 * waited for a slow subscriber. Skipping them would leave a gap the subscriber cannot see.
 */
export function overtaken(): TransportError {
  return new TransportError("history dropped updates this replay had yet to send (it fell behind retention)");
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

  get last(): number {
    return this.#seqs[this.#seqs.length - 1]!;
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
export function* mergeBySeq(
  first: Iterator<SequencedUpdate>,
  second: Iterator<SequencedUpdate>,
): Generator<SequencedUpdate> {
  let a = first.next();
  let b = second.next();
  while (!a.done || !b.done) {
    if (b.done || (!a.done && a.value.seq < b.value.seq)) {
      yield a.value as SequencedUpdate;
      a = first.next();
    } else {
      yield b.value;
      b = second.next();
    }
  }
}
