/**
 * The Redis a cluster of hubs under test shares: a `redis-server` found on PATH, started by the
 * harness on a free loopback port in a directory of its own, with a stated configuration, and
 * measured apart from the hubs (its CPU is the cost of the cluster's seam).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, stopChild } from "./external-adapter.ts";
import { requireCommand } from "./required-command.ts";

/** When Redis syncs its append-only file to disk: on every write, or once a second. */
export type AppendFsync = "always" | "everysec";

/** The configuration a run states in its results, beside its figures. */
export interface RedisConfig {
  /** Always kept: a Redis a cluster relies on keeps what it acknowledged. */
  readonly appendonly: "yes";
  readonly appendfsync: AppendFsync;
  /** No RDB snapshots: they would fork and write in the middle of a measurement. */
  readonly save: "";
}

export interface BenchRedis {
  readonly port: number;
  readonly pid: number;
  /** `redis://127.0.0.1:<port>/0` (no password: loopback only, a throwaway server). */
  readonly url: string;
  readonly config: RedisConfig;
  stop(): Promise<void>;
}

/** How long a fresh redis-server may take to answer PING. */
const START_TIMEOUT_MS = 10_000;

/** Throws MissingCommandError when redis-server is not on PATH. */
export function requireRedis(hub: string): void {
  requireCommand(hub, "redis-server", "Redis for its cluster cases", "apt-get install redis-server");
}

export function redisConfig(appendfsync: AppendFsync): RedisConfig {
  return { appendonly: "yes", appendfsync, save: "" };
}

export async function startRedis(hub: string, appendfsync: AppendFsync): Promise<BenchRedis> {
  requireRedis(hub);
  const config = redisConfig(appendfsync);
  const dir = mkdtempSync(join(tmpdir(), "quicksilver-bench-redis-"));
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      config.save,
      "--appendonly",
      config.appendonly,
      "--appendfsync",
      config.appendfsync,
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const stop = async () => {
    await stopChild(child, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPong(port, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: child.pid!, url: `redis://127.0.0.1:${port}/0`, config, stop };
}

/** Resolves once the server answers PING; rejects when it exits first or stays silent. */
async function waitForPong(port: number, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode})`);
    if (await answersPing(port)) return;
    await sleep(25);
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms`);
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    let received = "";
    socket.once("error", () => resolve(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (!received.includes("\r\n")) return;
      socket.destroy();
      resolve(received.startsWith("+PONG"));
    });
  });
}
