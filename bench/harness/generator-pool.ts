/**
 * The coordinator's side of the load generators: forks them, spreads subscribers and loopback
 * source addresses over them, and gathers what they counted.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { GeneratorCommand, GeneratorMessage } from "./generator.ts";
import { closeAll, sum } from "./load-processes.ts";
import type { Publisher } from "./publisher.ts";

/** Sockets per generator: the descriptor limit here is 20,000 per process and cannot be raised. */
export const SOCKETS_PER_GENERATOR = 15_000;
/** 127.0.0.2 … 127.0.0.51 all reach `lo`; each source address gives ~28k ephemeral ports. */
const SOURCE_ADDRESSES = Array.from({ length: 50 }, (_, i) => `127.0.0.${i + 2}`);

/** The message each command is answered with. */
const ANSWERS: Record<GeneratorCommand["op"], GeneratorMessage["op"]> = {
  open: "opened",
  expect: "complete",
  report: "report",
  reset: "report",
  close: "report", // never answered: the generator exits
};

/** What one generator counted. */
type GeneratorReport = Extract<GeneratorMessage, { op: "report" }>;

/** What the generators counted together. */
export type PoolReport = Omit<GeneratorReport, "op" | "cpuShare"> & {
  /** The busiest generator's CPU share (1 = a core saturated). */
  readonly maxCpuShare: number;
};

export class GeneratorPool {
  readonly #children: ChildProcess[];

  private constructor(children: ChildProcess[]) {
    this.#children = children;
  }

  static start(generators: number): GeneratorPool {
    const path = fileURLToPath(new URL("./generator.ts", import.meta.url));
    return new GeneratorPool(
      Array.from({ length: generators }, () =>
        fork(path, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
      ),
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
  ): Promise<{ connected: number; failed: number }> {
    const share = Math.ceil(count / this.#children.length);
    const requestsOf = (i: number): readonly string[] =>
      typeof request === "string" ? [request] : request.slice(i * share, (i + 1) * share);
    const perChild = Math.ceil(SOURCE_ADDRESSES.length / this.#children.length);
    const replies = await Promise.all(
      this.#children.map((child, i) =>
        this.#ask(child, {
          op: "open",
          port,
          requests: requestsOf(i),
          count: Math.max(0, Math.min(share, count - i * share)),
          addresses: SOURCE_ADDRESSES.slice(i * perChild, (i + 1) * perChild),
          probes: Math.ceil(probes / this.#children.length),
        }),
      ),
    );
    let connected = 0;
    let failed = 0;
    for (const reply of replies) {
      if (reply.op !== "opened") throw new Error(`a generator answered ${reply.op}`);
      connected += reply.connected;
      failed += reply.failed;
      if (reply.firstError !== undefined) process.stderr.write(`generator: ${reply.firstError}\n`);
    }
    return { connected, failed };
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
   * Publishes to `topic` until every subscriber holds an event (a hub may register a stream only
   * after its head), then starts the counts from zero: no hub is measured while still registering.
   */
  async warmUp(publisher: Publisher, topic: string, bytes: number): Promise<void> {
    let warm = false;
    for (let attempt = 0; attempt < 10 && !warm; attempt++) {
      await publisher.publish(topic, 1, bytes, 1);
      warm = await this.complete(attempt + 1, 2000);
    }
    if (!warm) throw new Error("the subscribers did not all receive the warm-up event");
    await this.report(true);
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
      responded: sum(reports.map((r) => r.responded)),
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
