/**
 * The coordinator's side of the publish clients (publish-client.ts): builds the raw request from
 * a Target's publishRequest, forks the clients (one per client core), has the rig place them, spreads the connections and the publishes over them, and merges what they measured.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { closeAll, split, sum } from "./load-processes.ts";
import {
  type PublishClientCommand,
  type PublishClientResult,
  type PublishTemplate,
  SEQUENCE_DIGITS,
} from "./publish-client.ts";
import type { Target } from "./target.ts";

/** At most this many latencies cross IPC per run, all processes together (a uniform sample). */
const MAX_LATENCIES = 200_000;
/** Stands in the data for the sequence number: letters and digits, so no encoding alters it. */
const MARKER = "QSBENCHSEQUENCE0";
/** Headers the client writes itself. */
const OWN_HEADERS = new Set(["host", "content-length", "connection", "transfer-encoding"]);

/**
 * The publish of `bytes` bytes of data to `topic`, as `target` spells it, cut where each client
 * puts its sequence number (the first 16 bytes of the data; the rest is `x`).
 */
export function publishTemplate(target: Target, topic: string, bytes: number): PublishTemplate {
  if (bytes < SEQUENCE_DIGITS) throw new Error(`the data must hold ${SEQUENCE_DIGITS} bytes at least`);
  const { path, headers, body } = target.publishRequest(topic, MARKER.padEnd(bytes, "x"));
  const at = body.indexOf(MARKER);
  if (at === -1 || body.indexOf(MARKER, at + 1) !== -1)
    throw new Error(`${target.name}'s publish body does not carry the data as is: ${body}`);
  let head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!OWN_HEADERS.has(name.toLowerCase())) head += `${name}: ${value}\r\n`;
  }
  return { head, bodyBefore: body.slice(0, at), bodyAfter: body.slice(at + MARKER.length) };
}

/** What the clients measured together. */
export interface PublishRun {
  readonly completed: number;
  readonly failed: number;
  readonly firstFailure?: string;
  readonly reconnects: number;
  readonly connectFailures: number;
  /** Latencies of completed publishes (ms): all of them, or a uniform sample of MAX_LATENCIES. */
  readonly latencies: number[];
  readonly latencyCount: number;
  readonly maxLatency: number;
  /** The longest client's run, first write to last response. */
  readonly seconds: number;
  /** The busiest client's CPU share (1 = a core saturated). */
  readonly maxCpuShare: number;
}

export interface PublishRunOptions {
  readonly port: number;
  readonly template: PublishTemplate;
  readonly connections: number;
  /** Exactly this many publishes in all, or … */
  readonly count?: number;
  /** … as many as fit in this time. */
  readonly durationMs?: number;
}

export class PublishClientPool {
  readonly #children: ChildProcess[];
  #runs = 0;

  private constructor(children: ChildProcess[]) {
    this.#children = children;
  }

  /** Forks `processes` clients, each handed to `place` (the rig pins it beside the generators). */
  static start(processes: number, place: (pid: number) => void): PublishClientPool {
    const path = fileURLToPath(new URL("./publish-client.ts", import.meta.url));
    const children = Array.from({ length: Math.max(1, processes) }, () =>
      // Advanced serialization: the latencies cross as a Float64Array, not as JSON text.
      fork(path, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization: "advanced" }),
    );
    for (const child of children) place(child.pid!);
    return new PublishClientPool(children);
  }

  get pids(): number[] {
    return this.#children.map((child) => child.pid!);
  }

  /** Runs the publishes, spread over the clients (the connections evenly, the count with them). */
  async run(options: PublishRunOptions): Promise<PublishRun> {
    const active = this.#children.slice(0, Math.min(this.#children.length, options.connections));
    const connections = split(options.connections, active.length);
    const counts = options.count === undefined ? undefined : split(options.count, active.length);
    const run = this.#runs++;
    const results = await Promise.all(
      active.map((child, i) =>
        ask(child, {
          op: "run",
          port: options.port,
          template: options.template,
          connections: connections[i]!,
          ...(counts === undefined ? {} : { count: counts[i]! }),
          ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
          // Distinct numbers per process, and per run (a run publishes far fewer than 1e9).
          sequenceBase: (i + 1) * 1e12 + run * 1e9,
          maxLatencies: Math.ceil(MAX_LATENCIES / active.length),
        }),
      ),
    );
    const firstFailure = results.find((r) => r.firstFailure !== undefined)?.firstFailure;
    return {
      completed: sum(results.map((r) => r.completed)),
      failed: sum(results.map((r) => r.failed)),
      ...(firstFailure === undefined ? {} : { firstFailure }),
      reconnects: sum(results.map((r) => r.reconnects)),
      connectFailures: sum(results.map((r) => r.connectFailures)),
      latencies: results.flatMap((r) => Array.from(r.latencies)),
      latencyCount: sum(results.map((r) => r.latencyCount)),
      maxLatency: Math.max(0, ...results.map((r) => r.maxLatency)),
      seconds: Math.max(...results.map((r) => r.seconds)),
      maxCpuShare: Math.max(...results.map((r) => r.cpuShare)),
    };
  }

  close(): Promise<void> {
    return closeAll(this.#children);
  }
}

/** Sends a run and resolves with its result; rejects if the client dies first. */
function ask(child: ChildProcess, command: PublishClientCommand): Promise<PublishClientResult> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`a publish client exited (${code})`));
    child.once("exit", onExit);
    child.once("message", (message: PublishClientResult) => {
      child.off("exit", onExit);
      resolve(message);
    });
    child.send(command);
  });
}
