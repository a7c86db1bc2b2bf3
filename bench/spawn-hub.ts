import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The issuer and HMAC secret every benchmark hub trusts. */
export const BENCH_ISSUER = "bench";
export const BENCH_SECRET = "bench-secret-that-is-long-enough-for-hs256";

export interface BenchHub {
  readonly process: ChildProcess;
  readonly hubUrl: string;
}

/**
 * Starts `quicksilver serve` in its own process on a free loopback port, trusting the bench
 * issuer, with `flags` added; resolves once it logs that it listens.
 */
export function spawnHub(flags: readonly string[]): Promise<BenchHub> {
  const profile = process.env.QUICKSILVER_BENCH_PROFILE;
  const child = spawn(
    process.execPath,
    [
      // QUICKSILVER_BENCH_PROFILE=<dir>: the hub writes a V8 CPU profile there when it stops.
      ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
      // QUICKSILVER_BENCH_NODE_FLAGS="--max-semi-space-size=4 …": Node flags for the hub only.
      ...(process.env.QUICKSILVER_BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? []),
      fileURLToPath(new URL("../bin/quicksilver.js", import.meta.url)),
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--issuer",
      BENCH_ISSUER,
      "--publisher-key",
      BENCH_SECRET,
      "--log-level",
      "info",
      // No line per publish and per stream: the benchmark measures the hub, not its logging.
      "--request-log-level",
      "off",
      // Benchmarks that measure history pass their own --transport (the last one wins).
      "--transport",
      "memory",
      ...flags,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let output = "";
    const onExit = (code: number | null) => reject(new Error(`the hub exited (${code})`));
    child.once("exit", onExit);
    child.stdout!.on("data", (chunk) => {
      output += chunk;
      const line = output.split("\n").find((l) => l.includes('"hub listening"'));
      if (line === undefined) return;
      child.off("exit", onExit);
      child.stdout!.resume();
      resolve({ process: child, hubUrl: JSON.parse(line).hubUrl });
    });
  });
}
