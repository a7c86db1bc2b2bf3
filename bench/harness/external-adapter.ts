/**
 * Any Mercure hub given by URL (and, optionally, the shell command that starts it), so the harness
 * can measure hubs it knows nothing about. Subscribers speak draft-08 (`?match=<topic>`, exact
 * matching) unless the adapter asks for the legacy dialect (`?topic=`) for an older hub; both
 * publish a form POST with a bearer token, which every Mercure hub understands.
 *
 * Also home of the small process helpers the other adapters share.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { type SubscribeDialect, subscribeRequest } from "../../src/loadtest/subscribe-request.ts";
import { MissingCommandError, requireCommand } from "./required-command.ts";
import type { Adapter, Target } from "./target.ts";

/** What a POSIX shell exits with when the command it was given is not found. */
const COMMAND_NOT_FOUND = 127;

/** Resolves once 127.0.0.1:`port` accepts a connection; rejects if `child` exits first or on timeout. */
export async function waitForPort(port: number, child?: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child !== undefined && child.exitCode !== null) throw new Error(`exited (${child.exitCode})`);
    if (child !== undefined && child.signalCode !== null) throw new Error(`killed (${child.signalCode})`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
}

/** A port that was free a moment ago (a server may still lose it to someone else before it listens). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Sends `signal` to `child` (to its whole process group when `group`) and resolves once it has exited. */
export function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals = "SIGTERM",
  group = false,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(group ? -child.pid! : child.pid!, signal);
  } catch {
    // Already gone between the check and the kill.
  }
  return exited;
}

/** The first child process of `pid` (from /proc), if it has one. */
function firstChildPid(pid: number): number | undefined {
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      if (children !== "") return Number(children.split(" ")[0]);
    }
  } catch {
    // No /proc or the process is gone: the caller falls back to the shell.
  }
  return undefined;
}

async function waitForPidExit(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
}

export interface ExternalOptions {
  /** The hub URL, e.g. http://127.0.0.1:3000/.well-known/mercure. */
  url: string;
  /** A shell command that starts the hub; without it the hub is assumed to be running already. */
  command?: string;
  /** A JWT the hub accepts for publishing to any topic. */
  publishToken?: string;
  /**
   * How subscribers name their topic: `draft` (the default) sends `?match=<topic>` as draft-08
   * hubs expect; `legacy` sends `?topic=<topic>`, for hubs that predate draft-08.
   */
  dialect?: SubscribeDialect;
}

export function externalAdapter(name: string, options: ExternalOptions): Adapter {
  const url = new URL(options.url);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const endpoint = { port, path: url.pathname };
  const dialect = options.dialect ?? "draft";
  const check = () => {
    if (options.command !== undefined) requireCommand(name, "sh", "a POSIX shell", "apt-get install dash");
  };
  return {
    name,
    check,
    async start(): Promise<Target> {
      check();
      let child: ChildProcess | undefined;
      let pid = 0;
      if (options.command !== undefined) {
        // Its own process group, so that stop reaches whatever the shell started.
        child = spawn("sh", ["-c", options.command], {
          stdio: ["ignore", "inherit", "inherit"],
          detached: true,
        });
        child.on("error", () => {}); // a failed spawn shows as an exit to waitForPort
        try {
          await waitForPort(port, child);
        } catch (error) {
          // The shell found no such program: say so in one line, as for any missing program.
          if (child.exitCode === COMMAND_NOT_FOUND) {
            throw new MissingCommandError(
              `the ${name} hub's command was not found (the shell exited ${COMMAND_NOT_FOUND}): ${options.command}`,
            );
          }
          throw error;
        }
        // sh may exec the command itself (then there is no child and the shell is the hub).
        pid = firstChildPid(child.pid!) ?? child.pid!;
      }
      return {
        name,
        port,
        pid,
        subscribeRequest: (topic) => subscribeRequest(endpoint, dialect, topic),
        publishRequest: (topic, data) => ({
          path: url.pathname,
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            ...(options.publishToken !== undefined && { Authorization: `Bearer ${options.publishToken}` }),
          },
          body: new URLSearchParams({ topic, data }).toString(),
        }),
        async stop() {
          if (child === undefined) return;
          await stopChild(child, "SIGTERM", true);
          // The shell may die before the hub it started has finished shutting down.
          if (pid !== child.pid) await waitForPidExit(pid);
        },
      };
    },
  };
}
