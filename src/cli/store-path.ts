import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "./usage-error.ts";

/**
 * The file of a sqlite history: the path in `sqlite:<path>`, else `history.db` in the data
 * directory, which defaults to `$XDG_DATA_HOME/quicksilver` (else `~/.local/share/quicksilver`).
 * `serve` and `history` resolve it the same way, so both find the same store.
 */
export function storePath(
  transport: string,
  dataDir: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (transport !== "sqlite" && !transport.startsWith("sqlite:")) {
    throw new UsageError(`--transport takes sqlite:<path>, memory or none, got ${transport}`);
  }
  const path = transport.slice("sqlite:".length);
  if (path !== "") return path;
  return join(
    dataDir ?? join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "quicksilver"),
    "history.db",
  );
}
