/**
 * `quicksilver config check` and `quicksilver config print`: the configuration `serve` would run
 * with, resolved the same way (flags, environment, --config file), without starting the hub.
 */
import { ConfigError } from "../auth/errors.ts";
import type { KeyConfig } from "../auth/keys.ts";
import { configuredVerifier } from "../server/config-verifier.ts";
import { descriptorLimit } from "../server/descriptor-limit.ts";
import {
  formatDuration,
  type OptionSpec,
  type OptionValue,
  SERVE_OPTIONS,
  shownDefault,
} from "../server/option-table.ts";
import { valueAt } from "../server/options.ts";
import { camelName } from "./option-names.ts";
import type { Found } from "./option-reader.ts";
import { type ConfigExplanation, explainServeConfig, type ServeConfig } from "./resolve-config.ts";
import { parseServeArgs } from "./serve-args.ts";
import { UsageError } from "./usage-error.ts";

export const CONFIG_USAGE = `Usage: quicksilver config check [serve options]
       quicksilver config print [--json] [serve options]

Both resolve the configuration exactly as quicksilver serve would, from the same flags, the
environment and the --config file (JSON or YAML), without listening or opening the history store.

  check   also loads the keys and key files and checks them, and JWK Set URLs, as the start does;
          prints "configuration is valid" and any warnings (exit status 0), or what to fix (2)
  print   every option: its effective value and where it came from (flag, env, file, default,
          computed), then the issuers and the warnings; secrets are masked. --json for JSON.
`;

/** What a masked secret shows. */
const MASK = "********";

/** Runs `config check` or `config print`; returns the output. Throws UsageError to exit 2. */
export async function configCommand(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  const [action, ...rest] = args;
  if (action !== "check" && action !== "print") {
    throw new UsageError(
      action === undefined ? "config needs check or print" : `unknown config command ${action}`,
    );
  }
  const flags = parseServeArgs(rest, action === "print" ? ["json"] : []);
  const json = flags.json === true;
  delete flags.json;
  if (action === "print") {
    const { config, explanation } = explainServeConfig(flags, env, { descriptors: descriptorLimit() });
    const report = describe(config, explanation);
    return json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report);
  }
  return check(flags, env);
}

async function check(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  try {
    const { config } = explainServeConfig(flags, env, { descriptors: descriptorLimit() });
    // The start's own check of issuers and keys. The hub URL it would build needs the bound port;
    // any URL does for loading keys, so the configured one or a stand-in.
    const hubUrl = config.publicUrl ?? `http://localhost:${config.port}/.well-known/mercure`;
    await configuredVerifier(config, hubUrl, config.resourceIdentifier ?? hubUrl);
    const warnings = [
      ...config.legacyReasons.map((reason) => `legacy dialect on: ${reason}`),
      ...config.warnings,
    ];
    return `${warnings.map((warning) => `warning: ${warning}\n`).join("")}configuration is valid\n`;
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      throw new UsageError(`configuration is invalid: ${error.message}`);
    }
    throw error;
  }
}

/** One option as `config print` shows it. */
export interface OptionReport {
  readonly option: string;
  readonly key: string;
  /** As the file would take it (a duration as `30s`); null when unset; secrets masked. */
  readonly value: OptionValue | null;
  /** What an unset value stands for (`http://<listen>/.well-known/mercure`). */
  readonly note?: string;
  readonly source: string;
}

export interface IssuerReport {
  readonly issuer: string;
  readonly source: string;
  readonly publisher?: Record<string, unknown>;
  readonly subscriber?: Record<string, unknown>;
}

export interface ConfigReport {
  readonly options: readonly OptionReport[];
  readonly issuers: readonly IssuerReport[];
  readonly warnings: readonly string[];
}

/** An issuer as the file gives it, checked by resolution: a role may name a keyFile. */
type FileIssuer = Partial<Record<"publisher" | "subscriber", Record<string, unknown>>>;

function describe(config: ServeConfig, explanation: ConfigExplanation): ConfigReport {
  const options = SERVE_OPTIONS.map((spec): OptionReport => {
    const found = explanation.sourceOf(spec.flag);
    const value = effectiveValue(spec, config, explanation);
    const source = found === undefined ? fallbackSource(spec, value) : sourceText(found, explanation);
    const shown = value === undefined ? null : masked(spec, formatted(spec, value));
    const note = value === undefined ? unsetNote(spec, found) : undefined;
    return { option: spec.flag, key: camelName(spec.flag), value: shown, source, ...(note ? { note } : {}) };
  });
  const issuers = config.issuers.map((issuer, index): IssuerReport => {
    const fromFile = index < explanation.fileIssuers;
    const raw = fromFile
      ? (explanation.file?.values.issuers as FileIssuer[] | undefined)?.[index]
      : undefined;
    const source = fromFile
      ? `file ${explanation.file?.path}`
      : config.devSecret !== undefined
        ? "computed (--dev, a generated secret)"
        : "flags --issuer and the key options";
    const roles: Partial<Record<"publisher" | "subscriber", Record<string, unknown>>> = {};
    for (const role of ["publisher", "subscriber"] as const) {
      const material = issuer[role];
      if (material !== undefined) roles[role] = maskedKey(material, raw?.[role]);
    }
    return { issuer: issuer.issuer, source, ...roles };
  });
  const warnings = [
    ...config.legacyReasons.map((reason) => `legacy dialect on: ${reason}`),
    ...config.warnings,
  ];
  return { options, issuers, warnings };
}

/** The value in effect: the hub's option where the option has one, else what the reader resolved. */
function effectiveValue(
  spec: OptionSpec,
  config: ServeConfig,
  explanation: ConfigExplanation,
): OptionValue | undefined {
  if (spec.target === "history.transport") {
    const history = config.history;
    if (history.transport === "sqlite") return `sqlite:${history.path}`;
    return history.transport === "redis" ? history.url : history.transport;
  }
  if (spec.target !== undefined) return valueAt(config, spec.target) as OptionValue | undefined;
  if (spec.flag === "config") return explanation.file?.path;
  const resolved = explanation.resolved.get(spec.flag);
  // `auto` stands for the number of cores.
  if (spec.flag === "workers") return resolved === "auto" ? config.workers : resolved;
  return resolved;
}

/** Why an option has no value: its default is computed later, or it does not apply. */
function unsetNote(spec: OptionSpec, found: Found | undefined): string | undefined {
  if (spec.target?.startsWith("history.")) return "not used with this --transport";
  return found === undefined ? shownDefault(spec) : "not used";
}

function formatted(spec: OptionSpec, value: OptionValue): OptionValue {
  return spec.kind === "duration" && typeof value === "number" ? formatDuration(value) : value;
}

function masked(spec: OptionSpec, value: OptionValue): OptionValue {
  if (spec.secret === true) return MASK;
  if (spec.secret === "url-password" && typeof value === "string") return maskUrlPassword(value);
  return value;
}

/** `redis://user:secret@host` → `redis://user:***@host`; a lone user part may be a password. */
export function maskUrlPassword(url: string): string {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i.exec(url);
  if (match === null) return url;
  const [whole, scheme, userinfo] = match as unknown as [string, string, string];
  const colon = userinfo.indexOf(":");
  const user = colon === -1 ? "***" : `${userinfo.slice(0, colon)}:***`;
  return `${scheme}${user}@${url.slice(whole.length)}`;
}

function maskedKey(material: KeyConfig, raw: Record<string, unknown> | undefined): Record<string, unknown> {
  const shown: Record<string, unknown> = {};
  // A key read from a file is shown by its path: the contents never reach the output.
  if (typeof raw?.keyFile === "string") shown.keyFile = raw.keyFile;
  else if (material.key !== undefined) shown.key = MASK;
  if (material.jwksUri !== undefined) shown.jwksUri = maskUrlPassword(material.jwksUri);
  if (material.alg !== undefined) shown.alg = material.alg;
  if (material.algorithms !== undefined) shown.algorithms = material.algorithms;
  return shown;
}

const ALIAS_KINDS: Readonly<Record<string, string>> = {
  reference: "reference hub's name",
  docker: "reference hub's Docker name",
  "0.x": "0.x name",
};

function sourceText(found: Found, explanation: ConfigExplanation): string {
  switch (found.origin) {
    case "flag":
      return `flag ${found.name}`;
    case "env":
      return `env ${found.name}`;
    case "file":
      return `file ${explanation.file?.path}`;
    default:
      return `env ${found.name} (${ALIAS_KINDS[found.origin]})`;
  }
}

/** Unset: the table's default, or computed (from the system, other options, --dev). */
function fallbackSource(spec: OptionSpec, value: OptionValue | undefined): string {
  if (value === undefined || JSON.stringify(value) === JSON.stringify(spec.default)) return "default";
  // A list without a default is empty by default.
  if (spec.default === undefined && Array.isArray(value) && value.length === 0) return "default";
  return "computed";
}

function renderText(report: ConfigReport): string {
  const rows = report.options.map((option) => {
    const value =
      option.value === null
        ? `(${option.note ?? "not set"})`
        : Array.isArray(option.value)
          ? option.value.length === 0
            ? "(none)"
            : option.value.join(", ")
          : String(option.value);
    return [`--${option.option}`, value, option.source];
  });
  const width = (column: number) => Math.max(...rows.map((row) => (row[column] as string).length));
  const [flagWidth, valueWidth] = [width(0), Math.min(width(1), 48)];
  const lines = rows.map(
    ([flag, value, source]) =>
      `${(flag as string).padEnd(flagWidth)}  ${(value as string).padEnd(valueWidth)}  ${source}`,
  );
  lines.push("", report.issuers.length === 0 ? "issuers: none" : "issuers:");
  for (const issuer of report.issuers) {
    lines.push(`  ${issuer.issuer}  (${issuer.source})`);
    for (const role of ["publisher", "subscriber"] as const) {
      const material = issuer[role];
      if (material === undefined) continue;
      const parts = Object.entries(material).map(
        ([key, value]) => `${key} ${Array.isArray(value) ? value.join(",") : String(value)}`,
      );
      lines.push(`    ${role}: ${parts.join(", ")}`);
    }
  }
  if (report.warnings.length > 0) {
    lines.push("", "warnings:", ...report.warnings.map((warning) => `  ${warning}`));
  }
  return `${lines.join("\n")}\n`;
}
