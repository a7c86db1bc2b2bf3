/**
 * The coordinator's side of the churners (churner.ts): forks them, splits the connect rate and
 * the loopback source addresses between them, and adds up what they report.
 *
 * The churners are forked from the coordinator and so inherit its CPU affinity: under
 * `npm run bench` (run.ts pins the coordinator to the client cores first) they run on the client
 * cores, away from the hub, like the generators; in tests nothing is pinned.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  CHURN_ERROR_KINDS,
  type ChurnErrorKind,
  type ChurnerCommand,
  type ChurnerMessage,
  type ChurnOptions,
} from "./churner.ts";
import { closeAll, sum } from "./load-processes.ts";

/** 127.0.0.2 … 127.0.0.51 all reach `lo`; each source address gives ~28k ephemeral ports. */
const SOURCE_ADDRESSES = Array.from({ length: 50 }, (_, i) => `127.0.0.${i + 2}`);

/** What the churners did together. */
export type ChurnReport = Omit<ChurnerMessage, "op" | "cpuShare" | "peakInFlight"> & {
  /** Successful connects per second, all churners together. */
  readonly connectsPerSecond: number;
  /** The busiest churner's CPU share (1 = a core saturated). */
  readonly maxCpuShare: number;
  readonly peakInFlight: number;
};

/** What a churn asks for, as a whole: the rate and in-flight cap are split between the churners. */
export type ChurnPlan = Omit<ChurnOptions, "addresses" | "sequencePrefix">;

export class ChurnerPool {
  readonly #children: ChildProcess[];

  private constructor(children: ChildProcess[]) {
    this.#children = children;
  }

  static start(churners: number): ChurnerPool {
    const path = fileURLToPath(new URL("./churner.ts", import.meta.url));
    return new ChurnerPool(
      Array.from({ length: churners }, () =>
        fork(path, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] }),
      ),
    );
  }

  get pids(): number[] {
    return this.#children.map((child) => child.pid!);
  }

  /** Runs the churn on every churner at once; resolves when all are done. */
  async run(plan: ChurnPlan): Promise<ChurnReport> {
    const n = this.#children.length;
    const perChild = Math.floor(SOURCE_ADDRESSES.length / n);
    const reports = await Promise.all(
      this.#children.map((child, i) =>
        this.#ask(child, {
          op: "run",
          ...plan,
          rate: plan.rate / n,
          maxInFlight: Math.ceil(plan.maxInFlight / n),
          addresses: SOURCE_ADDRESSES.slice(i * perChild, (i + 1) * perChild),
          sequencePrefix: `c${i}n`,
        }),
      ),
    );
    const errors = Object.fromEntries(
      CHURN_ERROR_KINDS.map((kind) => [kind, sum(reports.map((r) => r.errors[kind]))]),
    ) as Record<ChurnErrorKind, number>;
    const examples: Partial<Record<ChurnErrorKind, string>> = {};
    for (const report of reports)
      for (const kind of CHURN_ERROR_KINDS) examples[kind] ??= report.examples[kind];
    for (const kind of CHURN_ERROR_KINDS) if (examples[kind] === undefined) delete examples[kind];
    const succeeded = sum(reports.map((r) => r.succeeded));
    // The churners run side by side: their busiest stretch is the longest one.
    const seconds = Math.max(...reports.map((r) => r.seconds));
    return {
      attempted: sum(reports.map((r) => r.attempted)),
      succeeded,
      behind: sum(reports.map((r) => r.behind)),
      errors,
      examples,
      timesToHeaders: reports.flatMap((r) => r.timesToHeaders),
      seconds,
      connectsPerSecond: succeeded / seconds,
      maxCpuShare: Math.max(...reports.map((r) => r.cpuShare)),
      peakInFlight: sum(reports.map((r) => r.peakInFlight)),
    };
  }

  close(): Promise<void> {
    return closeAll(this.#children);
  }

  /** Sends a command and resolves with the churner's report (rejects if it exits first). */
  #ask(child: ChildProcess, command: ChurnerCommand): Promise<ChurnerMessage> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`a churner exited (${code})`));
      child.once("exit", onExit);
      child.once("message", (message: ChurnerMessage) => {
        child.off("exit", onExit);
        resolve(message);
      });
      child.send(command);
    });
  }
}
