import cluster, { type Worker } from "node:cluster";
import type { Logger } from "../hub/logger.ts";
import type { Channel, PrimaryMessage, WorkerMessage } from "./messages.ts";
import { RestartPolicy } from "./restart-policy.ts";

/** What a worker has beyond the shutdown timeout to end its streams before it is killed. */
export const SHUTDOWN_MARGIN_MS = 5_000;

export interface SupervisorOptions {
  readonly count: number;
  readonly logger: Logger;
  /** Environment variables every worker gets besides the primary's own. */
  readonly env: Readonly<Record<string, string>>;
  /** How long a worker takes to end its streams on shutdown (--shutdown-timeout). */
  readonly shutdownTimeoutMs: number;
  /** Serves a worker that just started (its store, when the primary holds it); returns its detach. */
  readonly attach: (channel: Channel, nodeId: string) => () => Promise<void>;
  /** Workers crash in a loop: the hub must stop, for this reason. */
  readonly onCrashLoop: (reason: string) => void;
}

/** Where the first worker listens: the hub's URL, the same for every worker. */
export interface Listening {
  readonly hubUrl: string;
  readonly resourceIdentifier: string;
}

/**
 * The primary's workers: started with `node:cluster` (the primary accepts each connection and
 * hands its socket to a worker in turn, keeping no descriptor of it), restarted when they exit,
 * with a backoff, until they crash too often (`RestartPolicy`), and stopped gracefully.
 */
export class WorkerSupervisor {
  readonly #options: SupervisorOptions;
  readonly #workers = new Set<Worker>();
  /** The detach of every worker still attached, resolving once its subscriptions are ended. */
  readonly #detaching = new Set<Promise<void>>();
  readonly #restarts = new RestartPolicy();
  #stopping = false;

  constructor(options: SupervisorOptions) {
    this.#options = options;
  }

  /**
   * Starts the first worker, and the others once it listens (a start that fails, a port taken or
   * a key refused, fails once). Rejects, with the worker's exit code, if the first one exits first.
   */
  async start(): Promise<Listening> {
    const first = this.#fork();
    const listening = await new Promise<Listening>((resolve, reject) => {
      const onMessage = (message: WorkerMessage) => {
        if (message.t !== "listening") return;
        first.off("exit", onExit);
        first.off("message", onMessage);
        resolve({ hubUrl: message.hubUrl, resourceIdentifier: message.resourceIdentifier });
      };
      const onExit = (code: number | null) => {
        first.off("message", onMessage);
        reject(new WorkerStartError(code ?? 1));
      };
      first.on("message", onMessage);
      first.once("exit", onExit);
    });
    for (let i = 1; i < this.#options.count; i++) this.#fork();
    return listening;
  }

  /** Asks every worker to close its streams, waits for them (killing the late), then for their detach. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const exited = [...this.#workers].map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.isDead()) return resolve();
          worker.once("exit", () => resolve());
          const late = setTimeout(
            () => worker.process.kill("SIGKILL"),
            this.#options.shutdownTimeoutMs + SHUTDOWN_MARGIN_MS,
          );
          worker.once("exit", () => clearTimeout(late));
          try {
            worker.send({ t: "shutdown" } satisfies PrimaryMessage);
          } catch {
            // Already gone: its exit follows.
          }
        }),
    );
    await Promise.all(exited);
    await Promise.all(this.#detaching);
  }

  #fork(): Worker {
    const worker = cluster.fork(this.#options.env);
    this.#workers.add(worker);
    // A message sent as the worker dies fails here, not as an uncaught error: its exit follows.
    worker.process.on("error", () => {});
    const pid = worker.process.pid;
    const nodeId = `worker-${worker.id}-${pid}`;
    const detach = this.#options.attach(worker as unknown as Channel, nodeId);
    this.#options.logger.info({ worker: worker.id, pid }, "worker started");
    worker.once("exit", (code: number | null, signal: string | null) => {
      this.#workers.delete(worker);
      this.#options.logger.info({ worker: worker.id, pid, code, signal }, "worker exited");
      const detached = detach().finally(() => this.#detaching.delete(detached));
      this.#detaching.add(detached);
      if (!this.#stopping) this.#restart();
    });
    return worker;
  }

  /** Replaces a worker that exited, after a backoff that grows with recent crashes. */
  #restart(): void {
    const delay = this.#restarts.exited(Date.now());
    if (delay === undefined) {
      this.#options.onCrashLoop(this.#restarts.reason);
      return;
    }
    setTimeout(() => {
      if (!this.#stopping) this.#fork();
    }, delay);
  }
}

/** The first worker exited before it listened: the start failed (it said why on stderr). */
export class WorkerStartError extends Error {
  override name = "WorkerStartError";
  readonly exitCode: number;

  constructor(exitCode: number) {
    super(`the first worker exited with code ${exitCode} before it listened`);
    this.exitCode = exitCode;
  }
}
