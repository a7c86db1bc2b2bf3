/**
 * The naive Node SSE server (naive-hub.ts) under test, as the floor the other hubs are measured
 * against. Runs in its own process on a port the kernel picks, read back from its stdout.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { channelRequests } from "./channel-requests.ts";
import { stopChild } from "./external-adapter.ts";
import type { Adapter, Target } from "./target.ts";

export const naiveAdapter: Adapter = {
  name: "naive",
  async start(options = {}): Promise<Target> {
    // process.execPath is Node 24 here (the harness runs under it), so it runs the .ts directly.
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL("naive-hub.ts", import.meta.url)), "0", String(options.heartbeatSeconds ?? 0)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const port = await new Promise<number>((resolve, reject) => {
      let output = "";
      const onExit = (code: number | null) => reject(new Error(`the naive hub exited (${code})`));
      child.once("exit", onExit);
      child.stdout!.on("data", (chunk) => {
        output += chunk;
        const match = output.match(/^listening (\d+)$/m);
        if (match === null) return;
        child.off("exit", onExit);
        // Keep draining stdout so the hub never blocks on a full pipe.
        child.stdout!.resume();
        resolve(Number(match[1]));
      });
    });
    return {
      name: "naive",
      port,
      pid: child.pid!,
      ...channelRequests(port),
      stop: () => stopChild(child, "SIGTERM"),
    };
  },
};
