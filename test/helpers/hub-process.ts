import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mintToken } from "../../src/auth/mint.ts";
import { ISSUER, SECRET, type TokenGrants } from "./test-hub.ts";

const BIN = fileURLToPath(new URL("../../bin/quicksilver.js", import.meta.url));

/**
 * The resource identifier every hub process shares, as nodes behind one load balancer do: a
 * token minted for it is good on each of them.
 */
export const SHARED_RESOURCE = "https://hub.example/.well-known/mercure";

/** `quicksilver serve` in a process of its own, as users run it. */
export interface HubProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:<port>/.well-known/mercure */
  readonly hubUrl: string;
  /** What the process printed so far, both streams. */
  output(): string;
  /** Resolves with the exit code once the process ended. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, as a supervisor stops it; resolves with its exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no goodbye. */
  kill(): Promise<void>;
}

/**
 * Starts `quicksilver serve` on 127.0.0.1, port 0 (unless `args` say another `--listen`), trusting
 * the test issuer for `SHARED_RESOURCE`, with `args` added; resolves once it logs that it listens.
 */
export function startHubProcess(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<HubProcess> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "serve",
      "--listen",
      "127.0.0.1:0",
      "--issuer",
      ISSUER,
      "--publisher-key",
      SECRET,
      "--resource-identifier",
      SHARED_RESOURCE,
      "--log-level",
      "info",
      // Stopping ends the streams at once, unless `args` ask for a spread (the last flag wins).
      "--shutdown-spread",
      "0",
      ...args,
    ],
    // A data directory of its own, unless the test chose one: the default store is one per user,
    // and two hubs started on it at once (tests run in parallel) would refuse to share it.
    {
      env: {
        PATH: process.env.PATH ?? "",
        XDG_DATA_HOME: mkdtempSync(join(tmpdir(), "quicksilver-data-")),
        ...env,
      },
    },
  );
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  child.stderr!.on("data", (chunk) => {
    output += chunk;
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      output += chunk;
      const line = output.split("\n").find((l) => l.includes('"hub listening"'));
      if (line === undefined) return;
      resolve({
        child,
        hubUrl: JSON.parse(line).hubUrl,
        output: () => output,
        exited,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          return exited;
        },
        kill: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
          await exited;
        },
      });
    });
    exited.then((code) => reject(new Error(`serve exited with ${code} before listening: ${output}`)));
  });
}

/** A token for `SHARED_RESOURCE`, good on every hub process. */
export function sharedToken(grants: TokenGrants): Promise<string> {
  return mintToken({
    ...grants,
    issuer: grants.issuer ?? ISSUER,
    audience: grants.audience ?? SHARED_RESOURCE,
    key: grants.key ?? SECRET,
  });
}
