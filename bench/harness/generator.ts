/**
 * A load-generator process (forked by the coordinator): holds up to ~15k raw subscriber sockets,
 * bound to its own loopback source addresses, and counts the events each receives. A few probe
 * sockets also read the publish time each event carries and record publish-to-deliver latency.
 *
 * Counting is cheap on purpose: one `indexOf` per `\ndata: ` (every benchmark event is one data
 * line), so the generator measures the hub, not itself. Its own CPU use is reported, and the
 * coordinator refuses a run where it saturated a core.
 *
 * Before anything is measured the coordinator waits for every subscriber's response head
 * (`heads`), then for every subscriber to have seen the latest warm-up event (`warmth`): a
 * warm-up event's data starts with `w=<sequence>;`, and each subscriber keeps the highest
 * sequence it saw.
 */
import { connect, type Socket } from "node:net";

export type GeneratorCommand =
  | {
      readonly op: "open";
      readonly port: number;
      /** The subscribe request heads: socket i sends `requests[i % requests.length]`. */
      readonly requests: readonly string[];
      readonly count: number;
      readonly addresses: readonly string[];
      readonly probes: number;
    }
  | { readonly op: "expect"; readonly perSocket: number }
  /** Answered at once with how many subscribers have their response head. */
  | { readonly op: "heads" }
  /** Answered at once with how many subscribers saw warm-up event `sequence` or a later one. */
  | { readonly op: "warmth"; readonly sequence: number }
  | { readonly op: "report" }
  /** Reports, then starts counting from zero (after a warm-up). */
  | { readonly op: "reset" }
  | { readonly op: "close" };

export type GeneratorMessage =
  | {
      readonly op: "opened";
      readonly connected: number;
      readonly failed: number;
      readonly firstError?: string;
      /** The subscribers connected by this open, by the source address the kernel bound them to. */
      readonly bySourceAddress: Record<string, number>;
    }
  | { readonly op: "complete" }
  | {
      readonly op: "heads";
      readonly sockets: number;
      /** Subscribers whose status line arrived, whatever the status. */
      readonly answered: number;
      /** Subscribers answered with another status than 200. */
      readonly refused: number;
      /** The first refusal's status line. */
      readonly firstRefusal?: string;
      /** Subscribers closed before their status line arrived. */
      readonly closedUnanswered: number;
    }
  | { readonly op: "warmth"; readonly sockets: number; readonly seen: number }
  | {
      readonly op: "report";
      readonly sockets: number;
      readonly events: number;
      readonly minPerSocket: number;
      readonly maxPerSocket: number;
      readonly closedEarly: number;
      /** Publish-to-deliver latencies seen by the probes (ms). */
      readonly latencies: number[];
      /** CPU time over wall time since the sockets were opened (1 = one core saturated). */
      readonly cpuShare: number;
    };

const NEEDLE = Buffer.from("\ndata: ");
const LINE_END = Buffer.from("\r\n");
/** A status line longer than this is no HTTP response. */
const MAX_STATUS_LINE = 1024;

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

class Subscriber {
  events = 0;
  /** The status line of its response, once it arrived. */
  statusLine: string | undefined = undefined;
  /** The highest warm-up sequence seen (0: none). */
  warmUp = 0;
  closed = false;
  /** The end of the previous chunk, for a needle split across two chunks. */
  #tail: Buffer = Buffer.alloc(0);
  /** The start of the response, until its status line is complete. */
  #head: Buffer = Buffer.alloc(0);

  readonly socket: Socket;
  readonly latencies: number[] | undefined;
  readonly onEvent: (subscriber: Subscriber) => void;

  constructor(socket: Socket, latencies: number[] | undefined, onEvent: (subscriber: Subscriber) => void) {
    this.socket = socket;
    this.latencies = latencies;
    this.onEvent = onEvent;
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
  }

  #read(chunk: Buffer): void {
    if (this.statusLine === undefined) this.#readStatusLine(chunk);
    const data = this.#tail.length === 0 ? chunk : Buffer.concat([this.#tail, chunk]);
    let at = data.indexOf(NEEDLE);
    while (at !== -1) {
      this.events++;
      if (this.latencies !== undefined) {
        const latency = probeLatency(data, at);
        if (latency !== undefined) this.latencies.push(latency);
      }
      const warmUp = warmUpSequence(data, at);
      if (warmUp !== undefined && warmUp > this.warmUp) this.warmUp = warmUp;
      this.onEvent(this);
      at = data.indexOf(NEEDLE, at + 1);
    }
    // Keep enough to find a needle (or a probe's timestamp) cut by the chunk boundary.
    this.#tail = Buffer.from(data.subarray(Math.max(0, data.length - 64)));
    // A needle found in the kept tail would be counted again: cut the tail after the last one.
    const last = this.#tail.lastIndexOf(NEEDLE);
    if (last !== -1) this.#tail = this.#tail.subarray(last + 1);
  }

  /** Keeps the start of the response until its first line ("HTTP/1.1 200 OK") is complete. */
  #readStatusLine(chunk: Buffer): void {
    const head = this.#head.length === 0 ? chunk : Buffer.concat([this.#head, chunk]);
    const end = head.indexOf(LINE_END);
    if (end === -1 && head.length < MAX_STATUS_LINE) {
      this.#head = Buffer.from(head);
      return;
    }
    this.statusLine = head.toString("latin1", 0, end === -1 ? MAX_STATUS_LINE : end);
    this.#head = Buffer.alloc(0);
  }

  /** Whether the status line says 200 (its second word). */
  get accepted(): boolean {
    return this.statusLine?.split(" ", 2)[1] === "200";
  }
}

const subscribers: Subscriber[] = [];
const latencies: number[] = [];
let expected = Number.POSITIVE_INFINITY;
let complete = 0;
let cpuStart = process.cpuUsage();
let wallStart = performance.now();

function send(message: GeneratorMessage): void {
  process.send!(message);
}

function onEvent(subscriber: Subscriber): void {
  if (subscriber.events === expected && ++complete === subscribers.length) send({ op: "complete" });
}

async function open(command: Extract<GeneratorCommand, { op: "open" }>): Promise<void> {
  let failed = 0;
  let firstError: string | undefined;
  const bySourceAddress: Record<string, number> = {};
  const pending: Promise<void>[] = [];
  for (let i = 0; i < command.count; i++) {
    pending.push(
      new Promise<void>((resolve) => {
        const socket = connect({
          port: command.port,
          host: "127.0.0.1",
          localAddress: command.addresses[i % command.addresses.length],
        });
        socket.setNoDelay(true);
        const subscriber = new Subscriber(socket, i < command.probes ? latencies : undefined, onEvent);
        socket.once("connect", () => {
          socket.write(command.requests[i % command.requests.length]!);
          subscribers.push(subscriber);
          const address = socket.localAddress ?? "unknown";
          bySourceAddress[address] = (bySourceAddress[address] ?? 0) + 1;
          resolve();
        });
        socket.once("error", (error) => {
          subscriber.closed = true;
          if (!subscribers.includes(subscriber)) {
            failed++;
            firstError ??= error.message;
            resolve();
          }
        });
        socket.once("close", () => {
          subscriber.closed = true;
        });
      }),
    );
    // Connect in waves, so the hub's accept queue is not flooded.
    if (pending.length % 500 === 0) await Promise.all(pending.slice(-500));
  }
  await Promise.all(pending);
  cpuStart = process.cpuUsage();
  wallStart = performance.now();
  send({
    op: "opened",
    connected: subscribers.length,
    failed,
    bySourceAddress,
    ...(firstError ? { firstError } : {}),
  });
}

function heads(): void {
  let answered = 0;
  let refused = 0;
  let closedUnanswered = 0;
  let firstRefusal: string | undefined;
  for (const subscriber of subscribers) {
    if (subscriber.statusLine === undefined) {
      if (subscriber.closed) closedUnanswered++;
      continue;
    }
    answered++;
    if (!subscriber.accepted) {
      refused++;
      firstRefusal ??= subscriber.statusLine;
    }
  }
  send({
    op: "heads",
    sockets: subscribers.length,
    answered,
    refused,
    closedUnanswered,
    ...(firstRefusal === undefined ? {} : { firstRefusal }),
  });
}

function warmth(sequence: number): void {
  const seen = subscribers.filter((s) => s.warmUp >= sequence).length;
  send({ op: "warmth", sockets: subscribers.length, seen });
}

function report(): void {
  const cpu = process.cpuUsage(cpuStart);
  const wallMicros = (performance.now() - wallStart) * 1000;
  let events = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const subscriber of subscribers) {
    events += subscriber.events;
    min = Math.min(min, subscriber.events);
    max = Math.max(max, subscriber.events);
  }
  send({
    op: "report",
    sockets: subscribers.length,
    events,
    minPerSocket: subscribers.length === 0 ? 0 : min,
    maxPerSocket: max,
    closedEarly: subscribers.filter((s) => s.closed).length,
    latencies: latencies.splice(0),
    cpuShare: (cpu.user + cpu.system) / wallMicros,
  });
}

process.on("message", (command: GeneratorCommand) => {
  switch (command.op) {
    case "open":
      void open(command);
      return;
    case "expect":
      expected = command.perSocket;
      complete = subscribers.filter((s) => s.events >= expected).length;
      if (complete === subscribers.length) send({ op: "complete" });
      return;
    case "heads":
      heads();
      return;
    case "warmth":
      warmth(command.sequence);
      return;
    case "report":
      report();
      return;
    case "reset":
      report();
      for (const subscriber of subscribers) subscriber.events = 0;
      expected = Number.POSITIVE_INFINITY;
      complete = 0;
      return;
    case "close":
      for (const subscriber of subscribers) subscriber.socket.destroy();
      process.exit(0);
  }
});
