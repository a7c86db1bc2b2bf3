/**
 * Reads `serve` option values by kind, wherever they come from (a flag, a variable, the config
 * file), with errors that name the flag and the variable it came from.
 */
import { type OptionSpec, type OptionValue, optionSpec } from "../server/option-table.ts";
import type { OptionNamer } from "../server/resolve-options.ts";
import { parseDuration } from "./duration.ts";
import { UsageError } from "./usage-error.ts";

export type Raw = string | boolean | number | readonly unknown[] | undefined;

/** Where a value came from; the order is the precedence, first wins. */
export const ORIGINS = ["flag", "env", "reference", "docker", "0.x", "file"] as const;
export type Origin = (typeof ORIGINS)[number];

export interface Found {
  readonly value: Raw;
  readonly origin: Origin;
  /** The flag, the environment variable or the config file key. */
  readonly name: string;
}

/** How the command line names an option in its messages. */
export const flagName: OptionNamer = (flag) => `--${flag}`;

/** Reads typed option values, with errors that name the flag (and the variable it came from). */
export class Reader {
  /** Startup warnings found while reading (an old `0s` that meant "disabled"). */
  readonly warnings: string[] = [];
  /** The value each option read last resolved to, its default included: what `config print` shows. */
  readonly resolved = new Map<string, OptionValue | undefined>();
  readonly #find: (spec: OptionSpec) => Found | undefined;
  readonly #oldHubNames = new Set<string>();

  constructor(find: (spec: OptionSpec) => Found | undefined) {
    this.#find = find;
  }

  /** Where the option's value comes from; undefined for its default. */
  source(flag: string): Found | undefined {
    return this.#find(optionSpec(flag));
  }

  /** How messages name an option. */
  name(flag: string): string {
    return flagName(flag);
  }

  /** The option's value by its kind, else `fallback`, else the table's default. */
  value(spec: OptionSpec, fallback: OptionValue | undefined): OptionValue | undefined {
    const otherwise = fallback ?? spec.default;
    switch (spec.kind) {
      case "string":
        return otherwise === undefined
          ? this.optionalString(spec.flag)
          : this.string(spec.flag, otherwise as string);
      case "boolean":
        return this.boolean(spec.flag, otherwise as boolean);
      case "list":
        return this.list(spec.flag, otherwise as readonly string[]);
      case "integer":
        return this.integer(spec.flag, otherwise as number, spec.minimum);
      case "duration":
        return this.duration(spec.flag, otherwise as number);
    }
  }

  /** The old hub's names read so far that tell a 0.x setup, in read order. */
  oldHubNames(): string[] {
    return [...this.#oldHubNames];
  }

  #value(flag: string): Raw {
    const spec = optionSpec(flag);
    const found = this.#find(spec);
    if (found?.origin === "0.x" && spec.oldHubImpliesLegacy !== false) this.#oldHubNames.add(found.name);
    return found?.value;
  }

  /** `--heartbeat`, or `--heartbeat (HEARTBEAT_INTERVAL)` when the value came from a variable. */
  #label(flag: string): string {
    const found = this.source(flag);
    return found === undefined || found.origin === "flag" || found.origin === "file"
      ? `--${flag}`
      : `--${flag} (${found.name})`;
  }

  optionalString(flag: string): string | undefined {
    const value = this.#value(flag);
    if (value === undefined || value === "") return this.#keep(flag, undefined);
    if (typeof value !== "string") throw new UsageError(`${this.#label(flag)} takes a string`);
    return this.#keep(flag, value);
  }

  string(flag: string, fallback: string): string {
    return this.#keep(flag, this.optionalString(flag) ?? fallback);
  }

  #keep<T extends OptionValue | undefined>(flag: string, value: T): T {
    this.resolved.set(flag, value);
    return value;
  }

  optionalBoolean(flag: string): boolean | undefined {
    const value = this.#value(flag);
    if (value === undefined) return this.#keep(flag, undefined);
    if (typeof value === "boolean") return this.#keep(flag, value);
    const text = String(value).trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(text)) return this.#keep(flag, true);
    if (["0", "false", "no", "off", ""].includes(text)) return this.#keep(flag, false);
    throw new UsageError(`${this.#label(flag)} takes true or false, got ${value}`);
  }

  boolean(flag: string, fallback: boolean): boolean {
    return this.#keep(flag, this.optionalBoolean(flag) ?? fallback);
  }

  list(flag: string, fallback: readonly string[]): string[] {
    const value = this.#value(flag);
    if (value === undefined) return this.#keep(flag, [...fallback]);
    if (Array.isArray(value)) return this.#keep(flag, value.map(String));
    return this.#keep(
      flag,
      String(value)
        .split(/[\s,]+/)
        .filter((item) => item !== ""),
    );
  }

  integer(flag: string, fallback: number, minimum = 1): number {
    const value = this.#value(flag);
    if (value === undefined || value === "") return this.#keep(flag, fallback);
    const number = typeof value === "number" ? value : Number(String(value).trim());
    if (!Number.isSafeInteger(number) || number < minimum) {
      throw new UsageError(`${this.#label(flag)} takes a whole number of at least ${minimum}, got ${value}`);
    }
    return this.#keep(flag, number);
  }

  /**
   * A duration. The old hub's `0s` meant "disabled"; Quicksilver keeps every bound, so a zero
   * from an old name leaves the default, with a warning.
   */
  duration(flag: string, fallbackMs: number): number {
    const value = this.#value(flag);
    if (value === undefined || value === "") return this.#keep(flag, fallbackMs);
    const ms = typeof value === "number" ? value : parseDuration(String(value).trim());
    if (ms === undefined) {
      throw new UsageError(
        `${this.#label(flag)} takes a duration such as 500ms, 30s, 5m, 1h or 1m30s, got ${value}`,
      );
    }
    const found = this.source(flag);
    if (ms === 0 && found?.origin === "0.x") {
      this.warnings.push(
        `${found.name}=${value} disabled this in the old hub; Quicksilver keeps every bound, so --${flag} keeps its default`,
      );
      return this.#keep(flag, fallbackMs);
    }
    return this.#keep(flag, ms);
  }
}
