import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The command line, as users run it. */
export const BIN = fileURLToPath(new URL("../../bin/quicksilver.js", import.meta.url));

/** What a command printed, and how it exited. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI to completion with exactly the environment given (no variable of the test's own),
 * and `input`, if given, on its standard input.
 */
export function runCli(args: readonly string[], env: Record<string, string>, input?: string): Promise<Run> {
  return runProcess(process.execPath, [BIN, ...args], env, input);
}

/** Runs a program to completion with exactly the environment given, and `input` on its standard input. */
export function runProcess(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  input?: string,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
  });
}
