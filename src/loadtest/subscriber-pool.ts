/**
 * The coordinator's side of a load test's subscriber processes: forks them, spreads the
 * subscribers over them, and adds up what they answer.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { LatencyHistogram } from "./latency-histogram.ts";
import type { OpenCommand, SubscriberCommand, SubscriberMessage } from "./subscriber-messages.ts";

/** Each process's answer to `status`, added up. */
export interface PoolStatus {
  readonly sockets: number;
  readonly accepted: number;
  readonly refused: Record<string, number>;
  readonly closedUnanswered: number;
  readonly warm: number;
}

/** Each process's answer to `report`, added up. */
export interface PoolReport {
  readonly events: number;
  readonly closedEarly: number;
  readonly latencies: LatencyHistogram;
}

type Answer<Op extends SubscriberMessage["op"]> = Extract<SubscriberMessage, { op: Op }>;

/** The forked subscriber processes of one run. */
export class SubscriberPool {
  readonly #children: ChildProcess[];

  private constructor(children: ChildProcess[]) {
    this.#children = children;
  }

  /** Forks `processes` subscriber processes. */
  static start(processes: number): SubscriberPool {
    // The sources run as they are in a checkout (Node strips the types); the package ships them built.
    const extension = import.meta.url.endsWith(".ts") ? "ts" : "js";
    const path = fileURLToPath(new URL(`./subscriber-process.${extension}`, import.meta.url));
    return new SubscriberPool(
      Array.from({ length: processes }, () =>
        fork(path, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
      ),
    );
  }

  /** Opens `count` subscribers spread evenly over the processes; resolves with the connect failures. */
  async open(
    command: Omit<OpenCommand, "op" | "count">,
    count: number,
  ): Promise<{ connected: number; errors: Record<string, number> }> {
    const answers = await Promise.all(
      this.#children.map((child, i) =>
        this.#ask(child, { op: "open", ...command, count: share(count, this.#children.length, i) }, "open"),
      ),
    );
    const errors: Record<string, number> = {};
    for (const answer of answers) addCounts(errors, answer.errors);
    return { connected: sum(answers.map((a) => a.connected)), errors };
  }

  /** How the subscribers stand, `warm` counting those that saw warm-up event `sequence`. */
  async status(sequence = 0): Promise<PoolStatus> {
    const answers = await Promise.all(
      this.#children.map((child) => this.#ask(child, { op: "status", sequence }, "status")),
    );
    const refused: Record<string, number> = {};
    for (const answer of answers) addCounts(refused, answer.refused);
    return {
      sockets: sum(answers.map((a) => a.sockets)),
      accepted: sum(answers.map((a) => a.accepted)),
      refused,
      closedUnanswered: sum(answers.map((a) => a.closedUnanswered)),
      warm: sum(answers.map((a) => a.warm)),
    };
  }

  /** Starts every count from zero. */
  async reset(): Promise<void> {
    await Promise.all(this.#children.map((child) => this.#ask(child, { op: "reset" }, "reset")));
  }

  /** What the subscribers counted since the reset. */
  async report(): Promise<PoolReport> {
    const answers = await Promise.all(
      this.#children.map((child) => this.#ask(child, { op: "report" }, "report")),
    );
    const latencies = new LatencyHistogram();
    for (const answer of answers) latencies.merge(answer.latencies);
    return {
      events: sum(answers.map((a) => a.events)),
      closedEarly: sum(answers.map((a) => a.closedEarly)),
      latencies,
    };
  }

  /** Closes every subscriber and ends the processes. */
  close(): Promise<void> {
    return Promise.all(
      this.#children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.send({ op: "close" } satisfies SubscriberCommand);
          }),
      ),
    ).then(() => {});
  }

  /** Sends a command and resolves with its answer; rejects if the process dies first. */
  #ask<Op extends SubscriberMessage["op"]>(
    child: ChildProcess,
    command: SubscriberCommand,
    answer: Op,
  ): Promise<Answer<Op>> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => {
        child.off("message", onMessage);
        reject(new Error(`a subscriber process exited (${code})`));
      };
      const onMessage = (message: SubscriberMessage) => {
        if (message.op !== answer) return;
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(message as Answer<Op>);
      };
      child.on("message", onMessage);
      child.once("exit", onExit);
      child.send(command);
    });
  }
}

/** Process i's share of `total` over `parts`, the larger shares first. */
function share(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}
