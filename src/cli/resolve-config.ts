import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IssuerConfig, KeyConfig } from "../auth/keys.ts";
import { camelName, envName, type OptionSpec, SERVE_OPTIONS } from "./option-table.ts";

/** A configuration mistake; the message says what to fix. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface ServeConfig {
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string | undefined;
  readonly resourceIdentifier: string | undefined;
  readonly issuers: readonly IssuerConfig[];
  readonly authorizationServers: readonly string[];
  readonly anonymous: boolean;
  readonly corsOrigins: readonly string[];
  readonly publishOrigins: readonly string[];
  readonly cookieName: string;
  /** The legacy dialect (see docs/coming-from-the-go-hub.md). */
  readonly legacy: boolean;
  /** Why the legacy dialect is on when it was not asked for by --legacy, for a startup warning. */
  readonly legacyReasons: readonly string[];
  /** Key material for legacy tokens that name no configured issuer (the old hub's keys). */
  readonly legacyKeys: Pick<IssuerConfig, "publisher" | "subscriber"> | undefined;
  readonly heartbeatMs: number;
  readonly writeTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly historySize: number;
  readonly maxBodyBytes: number;
  readonly maxFieldBytes: number;
  readonly maxFields: number;
  readonly maxTopics: number;
  readonly maxMatchers: number;
  readonly maxPatternLength: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly maxQueueBytes: number;
  readonly maxTokenBytes: number;
  readonly maxAuthorizationDetails: number;
  readonly maxTopicsPerDetail: number;
  readonly subscriptions: boolean;
  readonly maxSubscriptionsListed: number;
  readonly logLevel: string;
  readonly dev: boolean;
  /** In dev mode without a configured key: the generated secret, to mint the printed tokens. */
  readonly devSecret: string | undefined;
}

export const DEV_ISSUER = "quicksilver-dev";
const LOCALHOST_ORIGINS = [
  "http://localhost:*",
  "http://127.0.0.1:*",
  "http://[::1]:*",
  "https://localhost:*",
];
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

type Raw = string | boolean | number | readonly unknown[] | undefined;

/**
 * Resolves `serve` options from flags, then environment variables (MERCURE_<UPPER_SNAKE>, then the
 * reference hub's names), then the config file, then defaults.
 */
export function resolveServeConfig(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
): ServeConfig {
  const configPath = (flags.config as string | undefined) ?? env[envName("config")];
  const file = configPath === undefined ? {} : readConfigFile(configPath);
  const raw = (spec: OptionSpec): Raw => {
    const flag = flags[spec.flag];
    if (flag !== undefined) return flag;
    for (const name of [envName(spec.flag), ...(spec.aliases ?? [])]) {
      const value = env[name];
      if (value !== undefined) return value;
    }
    return file[camelName(spec.flag)] as Raw;
  };
  const read = new Reader(raw);
  const dev = read.boolean("dev", false);

  let issuers = issuersFromFile(file.issuers);
  const fromFlags = flagKeyMaterial(read);
  if (fromFlags !== undefined) {
    const names = read.list("issuer", dev ? [DEV_ISSUER] : []);
    if (names.length === 0) {
      throw new UsageError(
        "a key was given but no issuer: set --issuer (or MERCURE_TRUSTED_ISSUERS) to the iss claim your tokens carry",
      );
    }
    issuers = [...issuers, ...names.map((issuer) => ({ issuer, ...fromFlags }))];
  }
  let devSecret: string | undefined;
  if (issuers.length === 0) {
    if (!dev) {
      throw new UsageError(
        "no key configured: give --publisher-key (MERCURE_PUBLISHER_JWT_KEY) and --issuer, a --config file with issuers, or run with --dev",
      );
    }
    devSecret = randomBytes(32).toString("base64url");
    issuers = [{ issuer: DEV_ISSUER, publisher: { key: devSecret }, subscriber: { key: devSecret } }];
  }

  const [host, port] = parseListen(read.string("listen", "localhost:3000"));
  const logLevel = read.string("log-level", "info");
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  const config: ServeConfig = {
    host,
    port,
    publicUrl: read.optionalString("public-url"),
    resourceIdentifier: read.optionalString("resource-identifier"),
    issuers,
    authorizationServers: read.list("authorization-servers", []),
    anonymous: read.boolean("anonymous", dev),
    corsOrigins: read.list("cors-origins", dev ? LOCALHOST_ORIGINS : []),
    publishOrigins: read.list("publish-origins", dev ? LOCALHOST_ORIGINS : []),
    cookieName: read.string("cookie-name", "__Secure-mercure_access_token"),
    legacy: false,
    legacyReasons: [],
    legacyKeys: undefined,
    heartbeatMs: read.duration("heartbeat", 30_000),
    writeTimeoutMs: read.duration("write-timeout", 10_000),
    maxLifetimeMs: read.duration("max-lifetime", 3_600_000),
    historySize: read.integer("history-size", 1000, 0),
    maxBodyBytes: read.integer("max-body-bytes", 1024 * 1024),
    maxFieldBytes: read.integer("max-field-bytes", 16 * 1024),
    maxFields: read.integer("max-fields", 256),
    maxTopics: read.integer("max-topics", 64),
    maxMatchers: read.integer("max-matchers", 64),
    maxPatternLength: read.integer("max-pattern-length", 2048),
    maxConnections: read.integer("max-connections", 16_384),
    maxConnectionsPerClient: read.integer("max-connections-per-client", 1024),
    maxQueueBytes: read.integer("max-queue-bytes", 4 * 1024 * 1024),
    maxTokenBytes: read.integer("max-token-bytes", 16 * 1024),
    maxAuthorizationDetails: read.integer("max-authorization-details", 64),
    maxTopicsPerDetail: read.integer("max-topics-per-detail", 256),
    subscriptions: read.boolean("subscriptions", false),
    maxSubscriptionsListed: read.integer("max-subscriptions-listed", 1000),
    logLevel,
    dev,
    devSecret,
  };
  if (config.maxQueueBytes < 2 * config.maxBodyBytes) {
    throw new UsageError(
      "--max-queue-bytes must be at least twice --max-body-bytes, or one large update would drop every subscriber",
    );
  }
  if (config.heartbeatMs < 100) throw new UsageError("--heartbeat must be at least 100ms");
  return config;
}

/** The key flags, as one issuer's material; undefined when none was given. */
function flagKeyMaterial(read: Reader): Pick<IssuerConfig, "publisher" | "subscriber"> | undefined {
  const publisher = roleMaterial(read, "publisher");
  const subscriber = roleMaterial(read, "subscriber");
  if (publisher === undefined && subscriber === undefined) return undefined;
  // One key for both roles, as the reference hub's JWT_KEY: separate keys are better, not required.
  return { publisher: publisher ?? subscriber, subscriber: subscriber ?? publisher };
}

function roleMaterial(read: Reader, role: "publisher" | "subscriber"): KeyConfig | undefined {
  let key = read.optionalString(`${role}-key`);
  const keyFile = read.optionalString(`${role}-key-file`);
  const jwksUri = read.optionalString(`${role}-jwks-uri`);
  const alg = read.optionalString(`${role}-alg`);
  if (keyFile !== undefined) {
    if (key !== undefined) throw new UsageError(`give --${role}-key or --${role}-key-file, not both`);
    try {
      key = readFileSync(keyFile, "utf8").trim();
    } catch (error) {
      throw new UsageError(`cannot read --${role}-key-file ${keyFile}: ${(error as Error).message}`);
    }
  }
  if (key === undefined && jwksUri === undefined) {
    if (alg !== undefined)
      throw new UsageError(`--${role}-alg was given without --${role}-key or --${role}-jwks-uri`);
    return undefined;
  }
  const material: KeyConfig = {};
  if (key !== undefined) material.key = key;
  if (jwksUri !== undefined) material.jwksUri = jwksUri;
  if (alg !== undefined) material.alg = alg;
  return material;
}

function parseListen(listen: string): [string, number] {
  const colon = listen.lastIndexOf(":");
  const host = colon === -1 ? "" : listen.slice(0, colon);
  const portText = colon === -1 ? listen : listen.slice(colon + 1);
  const port = Number(portText);
  if (portText === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--listen must be host:port (e.g. localhost:3000 or :80), got ${listen}`);
  }
  return [host.replace(/^\[(.*)\]$/, "$1") || "0.0.0.0", port];
}

function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read the config file ${path}: ${(error as Error).message}`);
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

function issuersFromFile(value: unknown): IssuerConfig[] {
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

/** Reads typed option values, with errors that name the flag. */
class Reader {
  readonly #raw: (spec: OptionSpec) => Raw;
  readonly #specs = new Map(SERVE_OPTIONS.map((spec) => [spec.flag, spec]));

  constructor(raw: (spec: OptionSpec) => Raw) {
    this.#raw = raw;
  }

  #value(flag: string): Raw {
    return this.#raw(this.#specs.get(flag)!);
  }

  optionalString(flag: string): string | undefined {
    const value = this.#value(flag);
    if (value === undefined || value === "") return undefined;
    if (typeof value !== "string") throw new UsageError(`--${flag} takes a string`);
    return value;
  }

  string(flag: string, fallback: string): string {
    return this.optionalString(flag) ?? fallback;
  }

  boolean(flag: string, fallback: boolean): boolean {
    const value = this.#value(flag);
    if (value === undefined) return fallback;
    if (typeof value === "boolean") return value;
    const text = String(value).trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(text)) return true;
    if (["0", "false", "no", "off", ""].includes(text)) return false;
    throw new UsageError(`--${flag} takes true or false, got ${value}`);
  }

  list(flag: string, fallback: readonly string[]): string[] {
    const value = this.#value(flag);
    if (value === undefined) return [...fallback];
    if (Array.isArray(value)) return value.map(String);
    return String(value)
      .split(/[\s,]+/)
      .filter((item) => item !== "");
  }

  integer(flag: string, fallback: number, minimum = 1): number {
    const value = this.#value(flag);
    if (value === undefined || value === "") return fallback;
    const number = typeof value === "number" ? value : Number(String(value).trim());
    if (!Number.isSafeInteger(number) || number < minimum) {
      throw new UsageError(`--${flag} takes a whole number of at least ${minimum}, got ${value}`);
    }
    return number;
  }

  /** `250ms`, `30s`, `5m`, `1h`, or a number of milliseconds. */
  duration(flag: string, fallbackMs: number): number {
    const value = this.#value(flag);
    if (value === undefined || value === "") return fallbackMs;
    if (typeof value === "number") return value;
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(value).trim());
    if (match === null)
      throw new UsageError(`--${flag} takes a duration such as 500ms, 30s, 5m or 1h, got ${value}`);
    const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? "ms") as "ms" | "s" | "m" | "h"];
    return Math.round(Number(match[1]) * factor);
  }
}
