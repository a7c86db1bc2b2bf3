/**
 * The external programs an adapter needs (nginx for Nchan, a shell for an external hub). One
 * that is missing ends the run with a single line saying what to install, checked before the
 * first case so that no hub is measured for nothing; run.ts prints the message, not a stack.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** A program an adapter needs is not installed, or not where it is expected. */
export class MissingCommandError extends Error {
  override readonly name = "MissingCommandError";
}

/** Whether `command` (a path, or a name looked up on PATH) is an executable file. */
export function commandExists(command: string): boolean {
  const candidates = command.includes("/")
    ? [command]
    : (process.env.PATH ?? "")
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  return candidates.some((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether a file the hub loads (a module, a library) is present. */
export function fileExists(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Throws MissingCommandError unless `command` is installed: "the `hub` hub needs `what`
 * (`command`), which is not installed: `install`".
 */
export function requireCommand(hub: string, command: string, what: string, install: string): void {
  if (!commandExists(command)) throw missing(hub, what, command, install);
}

/** The same for a file the hub loads. */
export function requireFile(hub: string, path: string, what: string, install: string): void {
  if (!fileExists(path)) throw missing(hub, what, path, install);
}

function missing(hub: string, what: string, where: string, install: string): MissingCommandError {
  return new MissingCommandError(
    `the ${hub} hub needs ${what} (${where}), which is not installed: ${install}`,
  );
}
