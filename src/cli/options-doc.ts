import { SERVE_OPTIONS, shownDefault } from "../server/option-table.ts";
import { camelName, envName } from "./option-names.ts";

/** The options table of docs/configuration.md, rendered from the option table itself. */
export function renderOptionsTable(): string {
  const rows = SERVE_OPTIONS.map((spec) => {
    const envs = [envName(spec.flag), ...(spec.aliases ?? [])].map((name) => `\`${name}\``).join(", ");
    const fallback = (shownDefault(spec) ?? "").replaceAll("|", "\\|");
    const target = spec.target === undefined ? "" : `\`${spec.target}\``;
    return `| \`--${spec.flag}\` | ${envs} | \`${camelName(spec.flag)}\` | ${target} | ${spec.kind} | ${fallback} | ${spec.description} |`;
  });
  return [
    "| flag | environment | config file key | library option | kind | default | meaning |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

if (import.meta.main) process.stdout.write(`${renderOptionsTable()}\n`);
