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
    // A mistyped Redis URL may hold a password: only what precedes a user part is repeated.
    const shown = transport.replace(/\/\/[^/@]*@/, "//...@");
    throw new UsageError(
      `--transport takes sqlite:<path>, redis://[user:password@]host:port[/db], rediss://..., memory or none, got ${shown}`,
    );
  }
  const path = transport.slice("sqlite:".length);
  if (path !== "") return path;
  return join(
    dataDir ?? join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "quicksilver"),
    "history.db",
  );
}
