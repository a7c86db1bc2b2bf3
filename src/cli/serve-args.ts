/** The `serve` options on the command line, shared by `serve` and `config check|print`. */
import { parseArgs } from "node:util";
import { SERVE_OPTIONS } from "../server/option-table.ts";

type Flags = Record<string, string | boolean | undefined>;

/** Parses `serve` options (and `extra` boolean flags such as `--json`); unknown flags are refused. */
export function parseServeArgs(args: readonly string[], extra: readonly string[] = []): Flags {
  const options: Record<string, { type: "string" | "boolean" }> = { help: { type: "boolean" } };
  for (const flag of extra) options[flag] = { type: "boolean" };
  for (const spec of SERVE_OPTIONS)
    options[spec.flag] = { type: spec.kind === "boolean" ? "boolean" : "string" };
  return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values as Flags;
}
