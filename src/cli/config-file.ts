/** The `--config` JSON file: its keys are the options' camelCase names, plus `issuers`. */
import { readFileSync } from "node:fs";
import type { IssuerConfig } from "../auth/keys.ts";
import { SERVE_OPTIONS } from "../server/option-table.ts";
import { camelName } from "./option-names.ts";
import { UsageError } from "./usage-error.ts";

export function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(
      `the config file ${path} is not valid JSON: ${withoutExcerpt((error as Error).message)}`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`the config file ${path} must hold a JSON object`);
  }
  const known = new Set([...SERVE_OPTIONS.map((spec) => camelName(spec.flag)), "issuers"]);
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) throw new UsageError(`unknown key ${key} in the config file ${path}`);
  }
  return parsed as Record<string, unknown>;
}

export function issuersFromFile(value: unknown): IssuerConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new UsageError("issuers in the config file must be an array");
  return value.map((entry, index) => {
    if (typeof entry !== "object" || entry === null || typeof entry.issuer !== "string") {
      throw new UsageError(`issuers[${index}] in the config file needs an issuer string`);
    }
    for (const key of Object.keys(entry)) {
      if (!["issuer", "publisher", "subscriber"].includes(key)) {
        throw new UsageError(`unknown key ${key} in issuers[${index}] of the config file`);
      }
    }
    for (const role of ["publisher", "subscriber"] as const) {
      const material = entry[role];
      if (material === undefined) continue;
      if (typeof material !== "object" || material === null) {
        throw new UsageError(`issuers[${index}].${role} must be an object with key, alg or jwksUri`);
      }
      for (const key of Object.keys(material)) {
        if (!["key", "keyFile", "alg", "jwksUri", "algorithms"].includes(key)) {
          throw new UsageError(`unknown key ${key} in issuers[${index}].${role} of the config file`);
        }
      }
      if (typeof material.keyFile === "string") {
        const { keyFile, ...rest } = material;
        entry[role] = { ...rest, key: readFileSync(keyFile, "utf8").trim() };
      }
    }
    return entry as IssuerConfig;
  });
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
