/**
 * The `--config` file, JSON or YAML: its keys are the options' camelCase names, plus `issuers`.
 * The file holds keys and secrets, so no message quotes its text, only keys and line numbers.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { extname } from "node:path";
import { type Document, isMap, isNode, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { IssuerConfig } from "../auth/keys.ts";
import { SERVE_OPTIONS } from "../server/option-table.ts";
import { camelName } from "./option-names.ts";
import { UsageError } from "./usage-error.ts";

/** The largest config or key file read: they are a few kilobytes; more is a mistake or an attack. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;
/**
 * The most alias references a YAML file may resolve: enough to share an issuer's keys, too few
 * for a "billion laughs" file (aliases of aliases) to blow up in memory.
 */
export const MAX_YAML_ALIASES = 32;

export interface ConfigFile {
  readonly path: string;
  readonly values: Readonly<Record<string, unknown>>;
  /** ` (line 3)` for the key at that path of the file, when the parser knows it; else empty. */
  at(keys: readonly (string | number)[]): string;
}

const ISSUER_KEYS = ["issuer", "publisher", "subscriber"];
const ROLE_KEYS = ["key", "keyFile", "alg", "jwksUri", "algorithms"];

/** Reads, parses and checks the file's keys; the format follows the extension. */
export function readConfigFile(path: string): ConfigFile {
  const text = readBounded(path);
  const extension = extname(path).toLowerCase();
  const parsed =
    extension === ".yaml" || extension === ".yml"
      ? parseYaml(path, text)
      : parseJson(path, text, extension === ".json");
  const { values, document, lines } = parsed;
  const at = (keys: readonly (string | number)[]): string => {
    const start = document === undefined ? undefined : keyStart(document, keys);
    return start === undefined || lines === undefined ? "" : ` (line ${lines.linePos(start).line})`;
  };
  if (typeof values !== "object" || values === null || Array.isArray(values)) {
    throw new UsageError(`the config file ${path} must hold an object (a mapping of keys to values)`);
  }
  const known = new Set([...SERVE_OPTIONS.map((spec) => camelName(spec.flag)), "issuers"]);
  for (const [key, value] of Object.entries(values)) {
    if (!known.has(key)) throw new UsageError(`unknown key ${key} in the config file ${path}${at([key])}`);
    if (value === null)
      throw new UsageError(
        `${key} has no value in the config file ${path}${at([key])}; remove it or give one`,
      );
  }
  return { path, values: values as Record<string, unknown>, at };
}

/** The file's text, refused past `MAX_CONFIG_FILE_BYTES` before more is read. */
function readBounded(path: string, what = "the config file"): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new UsageError(`${what} ${path} is not a regular file`);
    const buffer = Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > MAX_CONFIG_FILE_BYTES) {
        throw new UsageError(
          `${what} ${path} is larger than ${MAX_CONFIG_FILE_BYTES} bytes (1 MiB); it should be a few kilobytes`,
        );
      }
    }
    return buffer.subarray(0, length).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** Where the key at that path starts in the text (the key, not its value, which may be lines below). */
function keyStart(document: Document, keys: readonly (string | number)[]): number | undefined {
  const parent = keys.length === 1 ? document.contents : document.getIn(keys.slice(0, -1), true);
  const last = keys[keys.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === last);
    return isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
  }
  if (isSeq(parent) && typeof last === "number") {
    const item = parent.items[last];
    return isNode(item) ? item.range?.[0] : undefined;
  }
  return undefined;
}

interface Parsed {
  readonly values: unknown;
  readonly document: Document | undefined;
  readonly lines: LineCounter | undefined;
}

function parseYaml(path: string, text: string): Parsed {
  const lines = new LineCounter();
  // The core schema: YAML 1.2's plain types only (no timestamps, no `yes` as true, no `<<` merges),
  // and keys must be unique. prettyErrors off: a pretty error quotes the line, which may hold a secret.
  const document = parseDocument(text, {
    schema: "core",
    uniqueKeys: true,
    prettyErrors: false,
    lineCounter: lines,
  });
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem !== undefined) {
    const line = lines.linePos(problem.pos[0]).line;
    const what =
      problem.code === "DUPLICATE_KEY"
        ? "a key is given twice"
        : problem.code === "TAG_RESOLVE_FAILED"
          ? "custom tags (!tag) are not accepted"
          : problem.message;
    throw new UsageError(`the config file ${path} is not valid YAML: ${what} (line ${line})`);
  }
  try {
    return { values: document.toJS({ maxAliasCount: MAX_YAML_ALIASES }), document, lines };
  } catch (error) {
    throw new UsageError(
      `the config file ${path} is refused: ${(error as Error).message} (more than ${MAX_YAML_ALIASES} alias references)`,
    );
  }
}

/**
 * JSON.parse decides what is JSON; a YAML parse of the same text (JSON is YAML 1.2) finds the
 * keys JSON.parse would silently let the last one win, and the lines of keys for messages.
 */
function parseJson(path: string, text: string, named: boolean): Parsed {
  let values: unknown;
  try {
    values = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      named
        ? `the config file ${path} is not valid JSON: ${withoutExcerpt((error as Error).message)}`
        : `the config file ${path} is not JSON; a config file is JSON (.json, or any other name) or YAML (.yaml or .yml)`,
    );
  }
  const lines = new LineCounter();
  const document = parseDocument(text, { schema: "json", uniqueKeys: true, lineCounter: lines });
  const duplicate = document.errors.find((error) => error.code === "DUPLICATE_KEY");
  if (duplicate !== undefined) {
    const line = lines.linePos(duplicate.pos[0]).line;
    throw new UsageError(`the config file ${path} gives a key twice (line ${line})`);
  }
  return document.errors.length === 0
    ? { values, document, lines }
    : { values, document: undefined, lines: undefined };
}

/** The file's `issuers`, each role's `keyFile` read; errors name the entry and its line. */
export function issuersFromFile(file: ConfigFile | undefined): IssuerConfig[] {
  const value = file?.values.issuers;
  if (file === undefined || value === undefined) return [];
  const where = (keys: (string | number)[]) => `in the config file ${file.path}${file.at(keys)}`;
  if (!Array.isArray(value)) throw new UsageError(`issuers must be a list ${where(["issuers"])}`);
  return value.map((entry, index) => {
    const here = ["issuers", index];
    if (typeof entry !== "object" || entry === null || typeof entry.issuer !== "string") {
      throw new UsageError(`issuers[${index}] needs an issuer string ${where(here)}`);
    }
    for (const key of Object.keys(entry)) {
      if (!ISSUER_KEYS.includes(key)) {
        throw new UsageError(`unknown key ${key} in issuers[${index}] ${where([...here, key])}`);
      }
    }
    const issuer: Record<string, unknown> = { ...entry };
    for (const role of ["publisher", "subscriber"] as const) {
      const material = entry[role];
      if (material === undefined) continue;
      if (typeof material !== "object" || material === null || Array.isArray(material)) {
        throw new UsageError(
          `issuers[${index}].${role} must be an object with key, keyFile, alg, algorithms or jwksUri ${where([...here, role])}`,
        );
      }
      for (const key of Object.keys(material)) {
        if (!ROLE_KEYS.includes(key)) {
          throw new UsageError(
            `unknown key ${key} in issuers[${index}].${role} ${where([...here, role, key])}`,
          );
        }
      }
      if (material.keyFile !== undefined) {
        const { keyFile, ...rest } = material;
        if (rest.key !== undefined) {
          throw new UsageError(
            `issuers[${index}].${role}: give key or keyFile, not both ${where([...here, role])}`,
          );
        }
        issuer[role] = { ...rest, key: readKeyFile(keyFile, `issuers[${index}].${role}.keyFile`) };
      }
    }
    return issuer as unknown as IssuerConfig;
  });
}

/** A key file's contents, trimmed; an error names the option and the file, never the contents. */
export function readKeyFile(path: unknown, option: string): string {
  if (typeof path !== "string" || path === "") throw new UsageError(`${option} must be a file path`);
  return readBounded(path, option).trim();
}

/**
 * A JSON parser's message without the excerpt of the text it may quote (`Unexpected token ']',
 * ..."f0e1d2"}},]}" is not valid JSON`): the file holds keys and secrets, and the message goes to
 * the terminal or the service's log.
 */
function withoutExcerpt(message: string): string {
  const excerpt = message.search(/, (?:\.\.\.)?"/);
  return excerpt === -1 ? message : message.slice(0, excerpt);
}
