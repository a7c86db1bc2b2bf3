/**
 * The coordinator's side of the load generators: forks them, spreads subscribers and loopback
 * source addresses over them, and gathers what they counted.
 */
import { type ChildProcess, fork } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { warmUpData } from "../../src/loadtest/stamps.ts";
import type { GeneratorCommand, GeneratorMessage } from "./generator-process.ts";
import { closeAll, sum } from "./load-processes.ts";
import type { Publisher } from "./publisher.ts";

/** Sockets per generator: the descriptor limit here is 20,000 per process and cannot be raised. */
export const SOCKETS_PER_GENERATOR = 15_000;
/** 127.0.0.2 … 127.0.0.51 all reach `lo`; each source address gives ~28k ephemeral ports. */
export const SOURCE_ADDRESSES = Array.from({ length: 50 }, (_, i) => `127.0.0.${i + 2}`);

/**
 * What the subscribers of a pool speak: HTTP/1.1, one raw socket each (generator.ts), or HTTP/2,
 * `streamsPerSession` streams on each session (h2-generator.ts).
 */
export type SubscriberProtocol =
  | { readonly name: "http/1.1" }
  | { readonly name: "h2"; readonly streamsPerSession: number };

export const HTTP1: SubscriberProtocol = { name: "http/1.1" };

/** The message each command is answered with. */
const ANSWERS: Record<GeneratorCommand["op"], GeneratorMessage["op"]> = {
  open: "opened",
  expect: "complete",
  heads: "heads",
  warmth: "warmth",
  report: "report",
  reset: "report",
  close: "report", // never answered: the generator exits
};

/** How long the subscribers of a pool may take to all get their response head. */
const HEADS_TIMEOUT_MS = 30_000;
/** Warm-up events published, one after the other, before the warm-up gives up. */
const WARM_UP_ATTEMPTS = 10;
/** How long each warm-up event has to reach every subscriber before the next one is published. */
const WARM_UP_WAIT_MS = 2000;
/** How often the coordinator asks the generators how far they are. */
const POLL_MS = 10;

/** What one generator counted. */
type GeneratorReport = Extract<GeneratorMessage, { op: "report" }>;

/** What the generators counted together. */
export type PoolReport = Omit<GeneratorReport, "op" | "cpuShare"> & {
  /** The busiest generator's CPU share (1 = a core saturated). */
  readonly maxCpuShare: number;
};

export class GeneratorPool {
  readonly #children: ChildProcess[];
  /** The source addresses the generators share, each generator binding to its own slice. */
  readonly #addresses: readonly string[];

  private constructor(children: ChildProcess[], addresses: readonly string[]) {
    this.#children = children;
    this.#addresses = addresses;
  }

  /**
   * Forks `generators` generators whose subscribers speak `protocol`, sharing the first
   * `sourceAddresses` source addresses.
   */
  static start(
    generators: number,
    sourceAddresses = SOURCE_ADDRESSES.length,
    protocol: SubscriberProtocol = HTTP1,
  ): GeneratorPool {
    if (sourceAddresses < generators || sourceAddresses > SOURCE_ADDRESSES.length)
      throw new Error(`${sourceAddresses} source addresses for ${generators} generators`);
    const [file, args] =
      protocol.name === "h2"
        ? ["./h2-generator.ts", [String(protocol.streamsPerSession)]]
        : ["./generator.ts", []];
    const path = fileURLToPath(new URL(file, import.meta.url));
    return new GeneratorPool(
      Array.from({ length: generators }, () =>
        fork(path, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
      ),
      SOURCE_ADDRESSES.slice(0, sourceAddresses),
    );
  }

  get pids(): number[] {
    return this.#children.map((child) => child.pid!);
  }

  /**
   * Opens `count` more subscribers, `probes` of them reading latencies, spread over the
   * generators. With one request every subscriber sends it; with a list, subscriber i sends the
   * i-th (one topic per subscriber).
   */
  async open(
    port: number,
    request: string | readonly string[],
    count: number,
    probes: number,
  ): Promise<{ connected: number; failed: number; bySourceAddress: Record<string, number> }> {
    const share = Math.ceil(count / this.#children.length);
    const requestsOf = (i: number): readonly string[] =>
      typeof request === "string" ? [request] : request.slice(i * share, (i + 1) * share);
    const perChild = Math.ceil(this.#addresses.length / this.#children.length);
    const replies = await Promise.all(
      this.#children.map((child, i) =>
        this.#ask(child, {
          op: "open",
          port,
          requests: requestsOf(i),
          count: Math.max(0, Math.min(share, count - i * share)),
          addresses: this.#addresses.slice(i * perChild, (i + 1) * perChild),
          probes: Math.ceil(probes / this.#children.length),
        }),
      ),
    );
    let connected = 0;
    let failed = 0;
    const bySourceAddress: Record<string, number> = {};
    for (const reply of replies) {
      if (reply.op !== "opened") throw new Error(`a generator answered ${reply.op}`);
      connected += reply.connected;
      failed += reply.failed;
      for (const [address, count] of Object.entries(reply.bySourceAddress))
        bySourceAddress[address] = (bySourceAddress[address] ?? 0) + count;
      if (reply.firstError !== undefined) process.stderr.write(`generator: ${reply.firstError}\n`);
    }
    return { connected, failed, bySourceAddress };
  }

  /** Resolves true once every subscriber holds `perSocket` events, false after `timeoutMs`. */
  async complete(perSocket: number, timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const all = Promise.all(
      this.#children.map((child) => this.#ask(child, { op: "expect", perSocket })),
    ).then(() => true);
    const done = await Promise.race([all, timeout]);
    clearTimeout(timer);
    return done;
  }

  /**
   * Resolves once every subscriber of every generator has its response head, so that nothing is
   * published to a hub still answering its subscribers. Throws, naming the reason, when the hub
   * refused one (a status other than 200), closed one unanswered, or left one unanswered for
   * `timeoutMs`.
   */
  async waitForHeads(timeoutMs = HEADS_TIMEOUT_MS): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const replies = await Promise.all(this.#children.map((child) => this.#ask(child, { op: "heads" })));
      const heads = replies.map((reply) => {
        if (reply.op !== "heads") throw new Error(`a generator answered ${reply.op}`);
        return reply;
      });
      const sockets = sum(heads.map((h) => h.sockets));
      const refused = sum(heads.map((h) => h.refused));
      if (refused > 0) {
        const line = heads.find((h) => h.firstRefusal !== undefined)?.firstRefusal;
        throw new Error(`the hub refused ${refused} of ${sockets} subscribers: ${line}`);
      }
      const closed = sum(heads.map((h) => h.closedUnanswered));
      if (closed > 0)
        throw new Error(`the hub closed ${closed} of ${sockets} subscribers before their response head`);
      const answered = sum(heads.map((h) => h.answered));
      if (answered === sockets) return;
      if (performance.now() > deadline) {
        throw new Error(
          `${answered} of ${sockets} subscribers got their response head within ${timeoutMs / 1000} s`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * Warms the hub up before a measurement: waits for every subscriber's response head, then
   * publishes one warm-up event to `topic` after another until `subscribers` of them (all, by
   * default) have seen the latest one, then starts the counts from zero. A hub may register a
   * stream after its head; a subscriber registered late sees only the events published after
   * it, so the condition is on the latest event, which every registered subscriber gets. Once
   * every subscriber has it, no earlier warm-up event is still on its way (each stream delivers
   * in order), and none can be counted as a measured one.
   */
  async warmUp(publisher: Publisher, topic: string, bytes: number, subscribers?: number): Promise<void> {
    await this.waitForHeads();
    let seen = { sockets: 0, seen: 0 };
    for (let sequence = 1; sequence <= WARM_UP_ATTEMPTS; sequence++) {
      const status = await publisher.send(topic, warmUpData(sequence, bytes));
      if (status < 200 || status >= 300)
        throw new Error(`the warm-up publish was ${status === 0 ? "not answered" : `answered ${status}`}`);
      const deadline = performance.now() + WARM_UP_WAIT_MS;
      for (;;) {
        seen = await this.#warmth(sequence);
        if (seen.seen >= (subscribers ?? seen.sockets)) {
          await this.report(true);
          return;
        }
        if (performance.now() > deadline) break;
        await sleep(POLL_MS);
      }
    }
    throw new Error(
      `${seen.seen} of ${subscribers ?? seen.sockets} subscribers received the last of ${WARM_UP_ATTEMPTS} warm-up events`,
    );
  }

  /** How many subscribers, of all the generators', saw warm-up event `sequence` or a later one. */
  async #warmth(sequence: number): Promise<{ sockets: number; seen: number }> {
    const replies = await Promise.all(
      this.#children.map((child) => this.#ask(child, { op: "warmth", sequence })),
    );
    let sockets = 0;
    let seen = 0;
    for (const reply of replies) {
      if (reply.op !== "warmth") throw new Error(`a generator answered ${reply.op}`);
      sockets += reply.sockets;
      seen += reply.seen;
    }
    return { sockets, seen };
  }

  /** What the generators counted; `reset` also starts their counts (and CPU) from zero. */
  async report(reset = false): Promise<PoolReport> {
    const op = reset ? "reset" : "report";
    const replies = await Promise.all(this.#children.map((child) => this.#ask(child, { op })));
    const reports = replies.map((reply) => {
      if (reply.op !== "report") throw new Error(`a generator answered ${reply.op}`);
      return reply;
    });
    return {
      sockets: sum(reports.map((r) => r.sockets)),
      events: sum(reports.map((r) => r.events)),
      minPerSocket: Math.min(...reports.map((r) => r.minPerSocket)),
      maxPerSocket: Math.max(...reports.map((r) => r.maxPerSocket)),
      closedEarly: sum(reports.map((r) => r.closedEarly)),
      latencies: reports.flatMap((r) => r.latencies),
      maxCpuShare: Math.max(...reports.map((r) => r.cpuShare)),
    };
  }

  close(): Promise<void> {
    return closeAll(this.#children);
  }

  /** Sends a command and resolves with the generator's answer to it. */
  #ask(child: ChildProcess, command: GeneratorCommand): Promise<GeneratorMessage> {
    const answer = ANSWERS[command.op];
    return new Promise((resolve) => {
      const onMessage = (message: GeneratorMessage) => {
        if (message.op !== answer) return;
        child.off("message", onMessage);
        resolve(message);
      };
      child.on("message", onMessage);
      child.send(command);
    });
  }
}
