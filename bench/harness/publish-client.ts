/**
 * A publish load process (forked by PublishClientPool): keeps C keep-alive connections to the hub,
 * each with one hand-built HTTP/1.1 publish in flight (no pipelining), and times every request
 * from its write to the end of its response. Raw `net` sockets and a minimal response reader
 * (response-parser.ts), so that the client costs a fraction of what node:http does and the hub,
 * not the client, sets the rate. Its own CPU share is reported, and a run where it saturated a
 * core is refused by the scenario.
 *
 * Every body differs: the 16-digit sequence number between `bodyBefore` and `bodyAfter` counts up
 * across runs, from a base the coordinator gives each process, so nothing can be cached or merged.
 */
import { connect, type Socket } from "node:net";
import { type ParsedResponse, ResponseParser } from "./response-parser.ts";

/** One publish, cut where the sequence number goes. */
export interface PublishTemplate {
  /** Request line and headers, each line ending in CRLF, without Content-Length or the blank line. */
  readonly head: string;
  readonly bodyBefore: string;
  readonly bodyAfter: string;
}

/** The width of the sequence number in each body (zero-padded decimal). */
export const SEQUENCE_DIGITS = 16;

export type PublishClientCommand =
  | {
      readonly op: "run";
      readonly port: number;
      readonly template: PublishTemplate;
      /** Keep-alive connections, each with one request in flight; reused by the next run if equal. */
      readonly connections: number;
      /** Publish exactly this many, or … */
      readonly count?: number;
      /** … start new publishes for this long (then let the ones in flight finish). */
      readonly durationMs?: number;
      /** This process's first sequence number (its numbers never meet another process's). */
      readonly sequenceBase: number;
      /** Send at most this many latencies back (a uniform sample beyond it). */
      readonly maxLatencies: number;
    }
  | { readonly op: "close" };

export interface PublishClientResult {
  readonly op: "result";
  /** Publishes answered 2xx. */
  readonly completed: number;
  /** Publishes answered otherwise, or whose connection broke before the answer. */
  readonly failed: number;
  /** What went wrong first ("HTTP 503", a socket error), when something did. */
  readonly firstFailure?: string;
  /** Connections the hub closed (Connection: close, keep-alive limits) and the client reopened. */
  readonly reconnects: number;
  /** Connection attempts refused or broken before connecting. */
  readonly connectFailures: number;
  /** Write-to-response time of each completed publish (ms), or a uniform sample of them. */
  readonly latencies: Float64Array;
  /** How many latencies there were before sampling (= completed). */
  readonly latencyCount: number;
  readonly maxLatency: number;
  /** From the first write to the last response. */
  readonly seconds: number;
  /** CPU time over wall time during the run (1 = one core saturated). */
  readonly cpuShare: number;
}

type RunCommand = Extract<PublishClientCommand, { op: "run" }>;

/** Consecutive failed connection attempts after which a connection is given up. */
const CONNECT_ATTEMPTS = 5;

class Connection {
  socket: Socket | undefined;
  parser: ResponseParser | undefined;
  state: "connecting" | "inflight" | "idle" | "dead" = "idle";
  sentAt = 0;
  connectFailures = 0;
}

let open: { port: number; connections: Connection[] } | undefined;
let nextSequence = 0;

/** The run in progress, as the connections' callbacks see it. */
let run:
  | {
      readonly command: RunCommand;
      /** Everything up to the sequence number, Content-Length and blank line included. */
      readonly prefix: string;
      readonly deadline: number;
      issued: number;
      completed: number;
      failed: number;
      firstFailure: string | undefined;
      reconnects: number;
      connectFailures: number;
      latencies: number[];
      maxLatency: number;
      lastResponse: number;
      done: () => void;
    }
  | undefined;

function mayIssue(): boolean {
  if (run === undefined) return false;
  if (run.command.count !== undefined) return run.issued < run.command.count;
  return performance.now() < run.deadline;
}

function issue(connection: Connection): void {
  if (run === undefined || !mayIssue()) {
    connection.state = "idle";
    finishIfDone();
    return;
  }
  run.issued++;
  const sequence = String(nextSequence++).padStart(SEQUENCE_DIGITS, "0");
  connection.state = "inflight";
  connection.sentAt = performance.now();
  connection.socket!.write(run.prefix + sequence + run.command.template.bodyAfter);
}

function fail(reason: string): void {
  if (run === undefined) return;
  run.failed++;
  run.firstFailure ??= reason;
}

function onResponse(connection: Connection, response: ParsedResponse): void {
  if (run === undefined || connection.state !== "inflight") return;
  const now = performance.now();
  run.lastResponse = now;
  if (response.status >= 200 && response.status < 300) {
    const latency = now - connection.sentAt;
    run.completed++;
    run.latencies.push(latency);
    if (latency > run.maxLatency) run.maxLatency = latency;
  } else {
    fail(`HTTP ${response.status}`);
  }
  if (response.close) {
    run.reconnects++;
    reconnect(connection);
  } else {
    issue(connection);
  }
}

/** Opens (or reopens) the connection's socket; `then` runs once it is connected. */
function connectOne(connection: Connection, port: number, then: () => void): void {
  connection.socket?.destroy();
  connection.state = "connecting";
  const socket = connect({ port, host: "127.0.0.1" });
  socket.setNoDelay(true);
  const parser = new ResponseParser((response) => onResponse(connection, response));
  connection.socket = socket;
  connection.parser = parser;
  const current = () => connection.socket === socket;
  let connected = false;
  socket.once("connect", () => {
    connected = true;
    connection.connectFailures = 0;
    then();
  });
  socket.on("data", (chunk: Buffer) => {
    if (!current()) return;
    try {
      parser.push(chunk);
    } catch (error) {
      broken(connection, (error as Error).message);
    }
  });
  socket.on("error", () => {}); // the close that follows says what is needed
  socket.once("close", () => {
    if (!current()) return;
    if (!connected) {
      connection.connectFailures++;
      if (run !== undefined) run.connectFailures++;
      if (connection.connectFailures >= CONNECT_ATTEMPTS) {
        connection.state = "dead";
        connection.socket = undefined;
        then(); // lets a waiting open, or a run, see the connection is gone
        return;
      }
      connectOne(connection, port, then);
      return;
    }
    // A response that runs to the close completes here; one cut short fails.
    if (!parser.end() && connection.state === "inflight")
      broken(connection, "connection closed mid-response");
    else if (connection.state === "inflight") broken(connection, "connection closed before the response");
    else if (connection.state !== "dead" && current()) reconnect(connection);
  });
}

/** The request in flight on `connection` is lost: count it and carry on on a new connection. */
function broken(connection: Connection, reason: string): void {
  if (connection.state === "inflight") fail(reason);
  reconnect(connection);
}

function reconnect(connection: Connection): void {
  if (open === undefined) return;
  const port = open.port;
  connection.state = "connecting";
  connectOne(connection, port, () => {
    if (connection.state === "dead") finishIfDone();
    else issue(connection);
  });
}

function finishIfDone(): void {
  if (run === undefined || open === undefined) return;
  const live = open.connections.filter((c) => c.state !== "dead");
  if (live.some((c) => c.state === "inflight" || c.state === "connecting")) return;
  if (live.length > 0 && mayIssue()) return;
  run.done();
}

/** Connects `count` sockets to `port`, or keeps the ones already open when they match. */
async function ensureOpen(port: number, count: number): Promise<void> {
  if (
    open !== undefined &&
    open.port === port &&
    open.connections.length === count &&
    open.connections.every((c) => c.state === "idle")
  )
    return;
  closeAll();
  const connections = Array.from({ length: count }, () => new Connection());
  open = { port, connections };
  await Promise.all(
    connections.map(
      (connection) =>
        new Promise<void>((resolve) =>
          connectOne(connection, port, () => {
            if (connection.state !== "dead") connection.state = "idle";
            resolve();
          }),
        ),
    ),
  );
}

function closeAll(): void {
  for (const connection of open?.connections ?? []) {
    const socket = connection.socket;
    connection.socket = undefined;
    connection.state = "dead";
    socket?.destroy();
  }
  open = undefined;
}

/** A uniform sample of `n` values (partial Fisher–Yates), or all of them. */
function sample(values: number[], n: number): number[] {
  if (values.length <= n) return values;
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (values.length - i));
    const swap = values[i]!;
    values[i] = values[j]!;
    values[j] = swap;
  }
  return values.slice(0, n);
}

async function runPublishes(command: RunCommand): Promise<PublishClientResult> {
  await ensureOpen(command.port, command.connections);
  nextSequence = Math.max(nextSequence, command.sequenceBase);
  const { head, bodyBefore, bodyAfter } = command.template;
  const length = Buffer.byteLength(bodyBefore) + SEQUENCE_DIGITS + Buffer.byteLength(bodyAfter);
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  const finished = new Promise<void>((resolve) => {
    run = {
      command,
      prefix: `${head}Content-Length: ${length}\r\n\r\n${bodyBefore}`,
      deadline: started + (command.durationMs ?? 0),
      issued: 0,
      completed: 0,
      failed: 0,
      firstFailure: undefined,
      reconnects: 0,
      connectFailures: 0,
      latencies: [],
      maxLatency: 0,
      lastResponse: started,
      done: resolve,
    };
  });
  for (const connection of open!.connections) {
    if (connection.state === "idle") issue(connection);
  }
  finishIfDone();
  await finished;
  const r = run!;
  run = undefined;
  const wallMs = Math.max(r.lastResponse, performance.now()) - started;
  const cpu = process.cpuUsage(cpuStart);
  const kept = sample(r.latencies, command.maxLatencies);
  return {
    op: "result",
    completed: r.completed,
    // Publishes a count asked for that could not even be sent (every connection gone) failed too.
    failed: r.failed + Math.max(0, (command.count ?? 0) - r.issued),
    ...(r.firstFailure === undefined ? {} : { firstFailure: r.firstFailure }),
    reconnects: r.reconnects,
    connectFailures: r.connectFailures,
    latencies: Float64Array.from(kept),
    latencyCount: r.latencies.length,
    maxLatency: r.maxLatency,
    seconds: (r.lastResponse - started) / 1000,
    cpuShare: (cpu.user + cpu.system) / (wallMs * 1000),
  };
}

process.on("message", (command: PublishClientCommand) => {
  switch (command.op) {
    case "run":
      void runPublishes(command).then((result) => process.send!(result));
      return;
    case "close":
      closeAll();
      process.exit(0);
  }
});
