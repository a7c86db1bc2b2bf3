/**
 * What a load generator keeps of one subscriber, whatever carries its stream (a raw HTTP/1.1
 * socket, an HTTP/2 stream): the events counted in its body, the latest warm-up event it saw, and
 * the publish-to-deliver latency of each event when it is a probe. The stamps it reads are
 * written by stamps.ts.
 *
 * Counting is cheap on purpose: one `indexOf` per `\ndata: ` (every load event is one data
 * line), so the generator measures the hub, not itself.
 */

const NEEDLE = Buffer.from("\ndata: ");
/** Bytes kept from a chunk's end: more than a needle and a stamp. */
const TAIL = 64;

/** The sequence of a warm-up event (its data starts with `w=<sequence>;`), else undefined. */
function warmUpSequence(chunk: Buffer, at: number): number | undefined {
  const start = at + NEEDLE.length;
  if (chunk[start] !== 0x77 /* w */ || chunk[start + 1] !== 0x3d /* = */) return undefined;
  const end = chunk.indexOf(0x3b /* ; */, start);
  if (end === -1) return undefined;
  return Number(chunk.toString("latin1", start + 2, end));
}

/** The data of a probe event starts with `t=<epoch ms>;`: the publisher's clock at publish time. */
function probeLatency(chunk: Buffer, at: number): number | undefined {
  const start = at + NEEDLE.length;
  if (chunk[start] !== 0x74 /* t */ || chunk[start + 1] !== 0x3d /* = */) return undefined;
  const end = chunk.indexOf(0x3b /* ; */, start);
  if (end === -1) return undefined;
  return performance.timeOrigin + performance.now() - Number(chunk.toString("latin1", start + 2, end));
}

/** Where a probe puts each latency it reads (ms): an array, or a histogram that bins them. */
export interface LatencySink {
  push(latency: number): void;
}

/** Counts one subscriber's events, chunk by chunk, and reads the stamps of a probe's. */
export class EventCounter {
  events = 0;
  /** The status line of its response (`HTTP/1.1 200 OK`, `HTTP/2 200`), once it arrived. */
  statusLine: string | undefined = undefined;
  /** The highest warm-up sequence seen (0: none). */
  warmUp = 0;
  closed = false;
  /** The end of the previous chunk, for a needle or a stamp split across two chunks. */
  #tail: Buffer = Buffer.alloc(0);
  /** The tail starts with a needle already counted, whose stamp the previous chunk cut. */
  #carried = false;

  /** Set on a probe: where its latencies go. */
  readonly latencies: LatencySink | undefined;
  /** Called once per event counted. */
  readonly onEvent: (subscriber: EventCounter) => void;

  constructor(latencies: LatencySink | undefined, onEvent: (subscriber: EventCounter) => void) {
    this.latencies = latencies;
    this.onEvent = onEvent;
  }

  /** Counts the events of the next chunk of the body. */
  count(chunk: Buffer): void {
    const data = this.#tail.length === 0 ? chunk : Buffer.concat([this.#tail, chunk]);
    let cut = -1;
    let at = data.indexOf(NEEDLE);
    while (at !== -1) {
      const next = data.indexOf(NEEDLE, at + 1);
      const counted = this.#carried && at === 0;
      if (!counted) this.events++;
      // The stamp (`t=…;`, `w=…;`) of the last event may be cut by the chunk's end, more often
      // over HTTP/2, whose DATA frames split a large write anywhere: read it with the next chunk.
      if (next === -1 && data.indexOf(0x3b /* ; */, at + NEEDLE.length) === -1 && data.length - at < TAIL) {
        cut = at;
      } else {
        if (this.latencies !== undefined) {
          const latency = probeLatency(data, at);
          if (latency !== undefined) this.latencies.push(latency);
        }
        const warmUp = warmUpSequence(data, at);
        if (warmUp !== undefined && warmUp > this.warmUp) this.warmUp = warmUp;
      }
      if (!counted) this.onEvent(this);
      at = next;
    }
    this.#carried = cut !== -1;
    if (cut !== -1) {
      this.#tail = Buffer.from(data.subarray(cut));
      return;
    }
    // Keep enough to find a needle cut by the chunk boundary.
    this.#tail = Buffer.from(data.subarray(Math.max(0, data.length - TAIL)));
    // A needle found in the kept tail would be counted again: cut the tail after the last one.
    const last = this.#tail.lastIndexOf(NEEDLE);
    if (last !== -1) this.#tail = this.#tail.subarray(last + 1);
  }

  /** Whether the status line says 200 (its second word). */
  get accepted(): boolean {
    return this.statusLine?.split(" ", 2)[1] === "200";
  }
}
