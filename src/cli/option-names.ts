/**
 * How the command line names the options of the option table (src/server/option-table.ts):
 * environment variables, config file keys, and where an old name comes from.
 */

/** The reference hub's names that are neither MERCURE_ names nor the old hub's. */
const DOCKER_NAMES: ReadonlySet<string> = new Set(["SERVER_NAME"]);

/** Where an alias comes from, in order of precedence. */
export type AliasOrigin = "reference" | "docker" | "0.x";

/** `MERCURE_PUBLISHER_JWT_KEY` → reference, `SERVER_NAME` → docker, `JWT_KEY` → 0.x. */
export function aliasOrigin(name: string): AliasOrigin {
  if (name.startsWith("MERCURE_")) return "reference";
  return DOCKER_NAMES.has(name) ? "docker" : "0.x";
}

/** `publisher-key` → `MERCURE_PUBLISHER_KEY`. */
export function envName(flag: string): string {
  return `MERCURE_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** `publisher-key` → `publisherKey`. */
export function camelName(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
