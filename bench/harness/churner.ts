/**
 * A churn process (forked by the coordinator): opens subscriber connections at a steady rate,
 * times each one from connect() to its full response head, holds the stream a moment, and closes
 * it, as browsers that come and go do. Raw `net` sockets bound to rotating loopback source
 * addresses; no HTTP client.
 *
 * Connects leave in small batches on a timer tick, as many as the schedule says are due since the
 * start (so a late tick catches up instead of drifting). At most `maxInFlight` connects wait for
 * their head at once: a connect due while the cap is reached is not started but counted as
 * `behind`, so a hub that stalls shows as a shortfall, not as a churner that piles up sockets.
 *
 * Cheap on purpose: one object per connection (the socket itself, with listeners shared by all),
 * the head found with one `indexOf`, held streams closed from a FIFO on the same tick (their
 * deadlines come in order), and its own CPU reported so the coordinator can refuse a run where
 * the churner, not the hub, was the limit. The 2 ms tick keeps batches small (10 connects at
 * 5k/s): a connect's head cannot be read while the rest of its batch is still being started, so
 * a big batch would add its own start-up time to the time to headers.
 */
import { Socket } from "node:net";

/** In a request head, replaced by a number unique to each connection (a fresh topic per connect). */
export const SEQUENCE_MARKER = "CHURNSEQ";

/** Why a connection failed. */
export type ChurnErrorKind =
  /** The connect was refused (nothing listening, accept queue overflowing). */
  | "refused"
  /** The connection was reset, or the hub closed it, before the full head arrived. */
  | "reset"
  /** No progress towards the full head (connected, head bytes) for `timeoutMs`. */
  | "timeout"
  /** A head arrived, but not `200`. */
  | "status"
  /** The hub ended a stream after its head, while it was held. */
  | "dropped"
  /** Anything else (EADDRNOTAVAIL when source ports run out, a huge head). */
  | "other";

export const CHURN_ERROR_KINDS: readonly ChurnErrorKind[] = [
  "refused",
  "reset",
  "timeout",
  "status",
  "dropped",
  "other",
];

export interface ChurnOptions {
  readonly port: number;
  /**
   * The subscribe request heads: connection i sends `requests[i % requests.length]`, with
   * SEQUENCE_MARKER (if present) replaced by the connection's own number.
   */
  readonly requests: readonly string[];
  /** Local addresses to bind, in rotation (each gives ~28k ephemeral ports). */
  readonly addresses: readonly string[];
  /** Connects per second this churner starts. */
  readonly rate: number;
  readonly durationMs: number;
  /** How long a stream stays open after its head before the churner closes it. */
  readonly holdMs: number;
  /** A connect that makes no progress towards its head for this long is a `timeout` error. */
  readonly timeoutMs: number;
  /** The most connects waiting for their head at once; those due beyond it count as `behind`. */
  readonly maxInFlight: number;
  /** Prefix of the connection numbers SEQUENCE_MARKER becomes (unique per churner). */
  readonly sequencePrefix: string;
}

export type ChurnerCommand = ({ readonly op: "run" } & ChurnOptions) | { readonly op: "close" };

export type ChurnerMessage = {
  readonly op: "report";
  /** Connects started. */
  readonly attempted: number;
  /** Connects whose head said 200 and whose stream stayed open until the churner closed it. */
  readonly succeeded: number;
  /** Connects due by the schedule but not started, because `maxInFlight` were waiting. */
  readonly behind: number;
  readonly errors: Readonly<Record<ChurnErrorKind, number>>;
  /** The first error of each kind, as seen (a status line, an error message). */
  readonly examples: Readonly<Partial<Record<ChurnErrorKind, string>>>;
  /** connect() to the end of the head (`\r\n\r\n`), one per success (ms). */
  readonly timesToHeaders: number[];
  /** From the first connect until the last head (or the end of the schedule, if later) (s). */
  readonly seconds: number;
  /** The most connects that waited for their head at once (each churner's peak, added up). */
  readonly peakInFlight: number;
  /** CPU time over wall time of the run (1 = one core saturated). */
  readonly cpuShare: number;
};

const TICK_MS = 2;
const HEAD_END = Buffer.from("\r\n\r\n");
/** A head longer than this is not an SSE response head. */
const MAX_HEAD_BYTES = 16 * 1024;

const WAITING = 0;
const HELD = 1;
const DONE = 2;

/** One connection: the socket itself, its listeners bound once (no closure per connection). */
class Attempt extends Socket {
  state = WAITING;
  head: Buffer | undefined = undefined;
  timeToHeaders = 0;
  started = 0;
  readonly run: Run;
  readonly request: string;

  constructor(run: Run, request: string) {
    super({ noDelay: true });
    this.run = run;
    this.request = request;
    this.on("connect", onConnect);
    this.on("data", onData);
    this.on("error", onError);
    this.on("close", onClose);
    this.on("timeout", onTimeout);
  }
}

function onConnect(this: Attempt): void {
  this.write(this.request);
}

function onData(this: Attempt, chunk: Buffer): void {
  if (this.state !== WAITING) return; // the stream's body: ignored
  const data = this.head === undefined ? chunk : Buffer.concat([this.head, chunk]);
  const end = data.indexOf(HEAD_END);
  if (end === -1) {
    if (data.length > MAX_HEAD_BYTES) this.run.fail(this, "other", "head too large");
    else this.head = data;
    return;
  }
  this.head = undefined;
  const line = data.toString("latin1", 0, data.indexOf(0x0d));
  // "HTTP/1.1 200 OK": the status is the second word.
  if (line.split(" ", 2)[1] !== "200") this.run.fail(this, "status", line);
  else this.run.headed(this);
}

function onError(this: Attempt, error: NodeJS.ErrnoException): void {
  if (this.state === DONE) return;
  this.run.fail(this, kindOf(this, error.code), error.code ?? error.message);
}

function onClose(this: Attempt): void {
  if (this.state === DONE) return;
  this.run.fail(this, this.state === HELD ? "dropped" : "reset", "closed by the hub");
}

function onTimeout(this: Attempt): void {
  if (this.state !== WAITING) return;
  this.run.fail(this, "timeout", "no head within the timeout");
}

function kindOf(attempt: Attempt, code: string | undefined): ChurnErrorKind {
  if (attempt.state === HELD) return "dropped";
  switch (code) {
    case "ECONNREFUSED":
      return "refused";
    case "ECONNRESET":
    case "EPIPE":
      return "reset";
    case "ETIMEDOUT":
      return "timeout";
    default:
      return "other";
  }
}

class Run {
  readonly options: ChurnOptions;
  attempted = 0;
  succeeded = 0;
  behind = 0;
  inFlight = 0;
  peakInFlight = 0;
  readonly errors: Record<ChurnErrorKind, number> = {
    refused: 0,
    reset: 0,
    timeout: 0,
    status: 0,
    dropped: 0,
    other: 0,
  };
  readonly examples: Partial<Record<ChurnErrorKind, string>> = {};
  readonly timesToHeaders: number[] = [];
  /** Held streams, in the order their hold ends (a FIFO: every hold is `holdMs` long). */
  readonly #held: Attempt[] = [];
  readonly #heldUntil: number[] = [];
  #heldHead = 0;
  readonly #requests: readonly (readonly [string, string] | string)[];
  #lastHead = 0;
  #started = 0;
  #cpu = process.cpuUsage();

  constructor(options: ChurnOptions) {
    this.options = options;
    // A request with the marker is kept in two halves, joined around each connection's number.
    this.#requests = options.requests.map((request) => {
      const at = request.indexOf(SEQUENCE_MARKER);
      return at === -1
        ? request
        : ([request.slice(0, at), request.slice(at + SEQUENCE_MARKER.length)] as const);
    });
  }

  /** Runs the schedule, then waits for the last heads and holds; resolves with the report. */
  start(): Promise<ChurnerMessage> {
    this.#started = performance.now();
    this.#lastHead = this.#started;
    this.#cpu = process.cpuUsage();
    const { rate, durationMs } = this.options;
    const total = Math.round((rate * durationMs) / 1000);
    let due = 0;
    return new Promise((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        this.#closeHeld(now);
        // Everything the schedule has made due by now, whether or not the last tick was late.
        const target = Math.min(total, Math.floor(((now - this.#started) * rate) / 1000));
        for (; due < target; due++) {
          if (this.inFlight >= this.options.maxInFlight) this.behind++;
          else this.#open(due);
        }
        if (due >= total && this.inFlight === 0 && this.#heldHead === this.#held.length) {
          clearInterval(timer);
          resolve(this.#report());
        }
      }, TICK_MS);
    });
  }

  #open(sequence: number): void {
    const { addresses, port, requests } = this.options;
    const template = this.#requests[sequence % requests.length]!;
    const request =
      typeof template === "string"
        ? template
        : `${template[0]}${this.options.sequencePrefix}${sequence}${template[1]}`;
    const attempt = new Attempt(this, request);
    attempt.setTimeout(this.options.timeoutMs);
    attempt.started = performance.now();
    attempt.connect({ port, host: "127.0.0.1", localAddress: addresses[sequence % addresses.length]! });
    this.attempted++;
    if (++this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
  }

  /** The full head arrived, status 200: hold the stream until its hold ends. */
  headed(attempt: Attempt): void {
    const now = performance.now();
    attempt.state = HELD;
    attempt.timeToHeaders = now - attempt.started;
    attempt.setTimeout(0);
    this.inFlight--;
    this.#lastHead = now;
    this.#held.push(attempt);
    this.#heldUntil.push(now + this.options.holdMs);
  }

  fail(attempt: Attempt, kind: ChurnErrorKind, detail: string): void {
    if (attempt.state === WAITING) this.inFlight--;
    attempt.state = DONE;
    this.errors[kind]++;
    this.examples[kind] ??= detail;
    attempt.destroy();
  }

  /** Closes the held streams whose hold has ended; each one closed intact is a success. */
  #closeHeld(now: number): void {
    let i = this.#heldHead;
    for (; i < this.#held.length && this.#heldUntil[i]! <= now; i++) {
      const attempt = this.#held[i]!;
      if (attempt.state !== HELD) continue; // dropped by the hub meanwhile: counted already
      attempt.state = DONE;
      this.succeeded++;
      this.timesToHeaders.push(attempt.timeToHeaders);
      attempt.destroy();
    }
    this.#heldHead = i;
    // Drop the closed part of the FIFO now and then, not on every tick.
    if (this.#heldHead > 4096 && this.#heldHead * 2 > this.#held.length) {
      this.#held.splice(0, this.#heldHead);
      this.#heldUntil.splice(0, this.#heldHead);
      this.#heldHead = 0;
    }
  }

  #report(): ChurnerMessage {
    const cpu = process.cpuUsage(this.#cpu);
    const wallMs = performance.now() - this.#started;
    return {
      op: "report",
      attempted: this.attempted,
      succeeded: this.succeeded,
      behind: this.behind,
      errors: this.errors,
      examples: this.examples,
      timesToHeaders: this.timesToHeaders,
      seconds: Math.max(this.options.durationMs, this.#lastHead - this.#started) / 1000,
      peakInFlight: this.peakInFlight,
      cpuShare: (cpu.user + cpu.system) / (wallMs * 1000),
    };
  }
}

process.on("message", (command: ChurnerCommand) => {
  switch (command.op) {
    case "run":
      void new Run(command).start().then((report) => process.send!(report));
      return;
    case "close":
      process.exit(0);
  }
});
// The coordinator gone (a crash, ^C): do not linger holding sockets.
process.on("disconnect", () => process.exit(0));
