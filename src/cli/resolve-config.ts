import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import {
  hmacMinimumBytes,
  type IssuerConfig,
  type KeyConfig,
  looksLikePem,
  type Role,
} from "../auth/keys.ts";
import { resolveConnectionLimits } from "../server/connection-limits.ts";
import { descriptorLimit } from "../server/descriptor-limit.ts";
import {
  defaultOf,
  type OptionSpec,
  type OptionValue,
  optionSpec,
  SERVE_OPTIONS,
} from "../server/option-table.ts";
import type { HistoryConfig, HubServerConfig } from "../server/options.ts";
import {
  checkOptions,
  defaultShutdownSpread,
  originAllowlists,
  trustedProxiesOf,
} from "../server/resolve-options.ts";
import { type ConfigFile, issuersFromFile, readConfigFile, readKeyFile } from "./config-file.ts";
import { parseListen, parseServerName } from "./listen-address.ts";
import { aliasOrigin, camelName, envName } from "./option-names.ts";
import { type Found, flagName, ORIGINS, type Origin, type Raw, Reader } from "./option-reader.ts";
import { storePath } from "./store-path.ts";
import { UsageError } from "./usage-error.ts";

export { UsageError };

/** What `quicksilver serve` resolved: the hub server's options, and what only the command line uses. */
export interface ServeConfig extends HubServerConfig {
  /** Why the legacy dialect is on when it was not asked for by --legacy, for a startup warning. */
  readonly legacyReasons: readonly string[];
  /** Other things to warn about at startup (a short secret, an old setting not read); no secrets. */
  readonly warnings: readonly string[];
  readonly logLevel: string;
  /** `json` lines, or `pretty` ones for a terminal. */
  readonly logFormat: "json" | "pretty";
  readonly dev: boolean;
  /** In dev mode without a configured key: the generated secret, to mint the printed tokens. */
  readonly devSecret: string | undefined;
  /** How many worker processes serve the port (1: the hub is this process alone). */
  readonly workers: number;
}

export type { HistoryConfig };

export const DEV_ISSUER = "quicksilver-dev";
const LOCALHOST_ORIGINS = [
  "http://localhost:*",
  "http://127.0.0.1:*",
  "http://[::1]:*",
  "https://localhost:*",
];
/** What `--dev` changes of the table's defaults. */
const DEV_DEFAULTS: Readonly<Record<string, OptionValue>> = {
  anonymous: true,
  "cors-origins": LOCALHOST_ORIGINS,
  "publish-origins": LOCALHOST_ORIGINS,
  ui: true,
};
/** Options read apart from the others, where their value is composed. */
const COMPOSED: ReadonlySet<string> = new Set([
  "legacy",
  "max-sockets",
  "max-sockets-per-client",
  "max-connections-per-client",
]);
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * Settings of the reference hub that Quicksilver does not read, and what to do instead. Only names
 * specific enough to come from a Mercure setup: `DEBUG` or `METRICS` may belong to anything.
 */
const UNREAD_SETTINGS: Readonly<Record<string, string>> = {
  ACME_HOSTS:
    "certificates are not obtained automatically: give --cert and --key (docs/tls-and-http2.md), or terminate TLS in front of Quicksilver",
  TRANSPORT_URL:
    "history is kept in an SQLite store (--transport sqlite:<path>, --data-dir); a Bolt database is not read",
  MERCURE_TRANSPORT_URL:
    "history is kept in an SQLite store (--transport sqlite:<path>, --data-dir); a Bolt database is not read",
  MERCURE_EXTRA_DIRECTIVES:
    "these are Caddyfile directives: set the matching options instead (cors_origins is --cors-origins, anonymous is --anonymous, …)",
};

/** Where `config print` finds each option's value and its origin, as resolution left them. */
export interface ConfigExplanation {
  /** The config file read, if any. */
  readonly file: ConfigFile | undefined;
  /** Where the option's value came from: undefined for a default or a computed value. */
  sourceOf(flag: string): Found | undefined;
  /** What each option read resolved to, defaults included; an option not read is absent. */
  readonly resolved: ReadonlyMap<string, OptionValue | undefined>;
  /** How many of the issuers, first in the list, come from the config file. */
  readonly fileIssuers: number;
}

/** What `quicksilver serve` resolved: see `resolveServeConfig`. */
export function resolveServeConfig(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
  system?: ResolveSystem,
): ServeConfig {
  return explainServeConfig(flags, env, system).config;
}

/** What resolution needs of the system. */
export interface ResolveSystem {
  /** The process's descriptor limit (`ulimit -n`), undefined when unknown. */
  readonly descriptors: number | undefined;
  /** The dev secret a worker takes from its primary, so that every worker verifies the same tokens. */
  readonly devSecret?: string | undefined;
  /** How many cores `--workers auto` stands for. */
  readonly cores?: number;
}

/**
 * Resolves `serve` options from flags, then environment variables (MERCURE_<UPPER_SNAKE> and the
 * reference hub's MERCURE_ names, then its Docker image's, then the old hub's), then the config
 * file, then defaults. An empty environment variable counts as unset.
 */
export function explainServeConfig(
  flags: Readonly<Record<string, string | boolean | undefined>>,
  env: Readonly<Record<string, string | undefined>>,
  system: ResolveSystem = { descriptors: descriptorLimit() },
): { config: ServeConfig; explanation: ConfigExplanation } {
  const configPath = (flags.config as string | undefined) || env[envName("config")] || undefined;
  const configFile = configPath === undefined ? undefined : readConfigFile(configPath);
  const file = configFile?.values ?? {};
  const find = (spec: OptionSpec): Found | undefined => {
    const flag = flags[spec.flag];
    if (flag !== undefined) return { value: flag, origin: "flag", name: `--${spec.flag}` };
    const aliases = (spec.aliases ?? []).map((name): [string, Origin] => [name, aliasOrigin(name)]);
    const names: [string, Origin][] = [
      [envName(spec.flag), "env"],
      ...aliases.sort(([, a], [, b]) => ORIGINS.indexOf(a) - ORIGINS.indexOf(b)),
    ];
    for (const [name, origin] of names) {
      const value = env[name];
      if (value !== undefined && value !== "") return { value, origin, name };
    }
    const key = camelName(spec.flag);
    return file[key] === undefined ? undefined : { value: file[key] as Raw, origin: "file", name: key };
  };
  const read = new Reader(find);
  const dev = read.boolean("dev", defaultOf("dev"));
  const legacyAsked = read.optionalBoolean("legacy");

  const fileIssuers = issuersFromFile(configFile);
  const keys = flagKeyMaterial(read);
  const issuerNames = read.list("issuer", dev ? [DEV_ISSUER] : []);
  const [host, port] = listenAddress(read);
  const logLevel = read.string("log-level", defaultOf("log-level"));
  if (!LOG_LEVELS.includes(logLevel))
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(", ")}`);
  const logFormat = read.string("log-format", dev ? "pretty" : defaultOf("log-format"));
  if (logFormat !== "json" && logFormat !== "pretty")
    throw new UsageError(`--log-format takes json or pretty, got ${logFormat}`);
  const workers = workerCount(read.string("workers", defaultOf("workers") as string), system.cores);
  const options = readHubOptions(read, env, system.descriptors, dev);
  checkOptions(options, flagName);

  // The legacy dialect: asked for, or implied by a 0.x configuration (never in dev mode).
  const keysWithoutIssuer = keys !== undefined && issuerNames.length === 0;
  const legacyReasons: string[] = [];
  if (!dev) {
    const oldNames = read.oldHubNames();
    if (oldNames.length > 0) {
      legacyReasons.push(
        `${listFormat.format(oldNames)} ${oldNames.length === 1 ? "is the old hub's setting" : "are the old hub's settings"}`,
      );
    }
    if (keysWithoutIssuer) {
      legacyReasons.push(
        "keys are configured without an issuer (--issuer or MERCURE_TRUSTED_ISSUERS), so they can only verify 0.x tokens: draft-08 tokens must carry a configured iss",
      );
    }
  }
  const legacy = legacyAsked ?? legacyReasons.length > 0;
  if (keysWithoutIssuer && !legacy) {
    throw new UsageError(
      "a key was given but no issuer: set --issuer (or MERCURE_TRUSTED_ISSUERS) to the iss claim your tokens carry, " +
        "or turn the legacy dialect on (--legacy, MERCURE_LEGACY=1) to accept 0.x tokens, which carry none",
    );
  }
  const warnings = [...read.warnings, ...unreadSettings(env)];
  if (legacy && keys !== undefined) warnings.push(...allowShortSecrets(keys.roles));

  let issuers = fileIssuers;
  if (keys !== undefined && !keysWithoutIssuer) {
    issuers = [...issuers, ...issuerNames.map((issuer) => ({ issuer, ...keys.material }))];
  }
  const legacyKeys = legacy ? keys?.material : undefined;
  let devSecret: string | undefined;
  if (issuers.length === 0 && legacyKeys === undefined) {
    if (!dev) {
      throw new UsageError(
        "no key configured: give --publisher-key (MERCURE_PUBLISHER_JWT_KEY) and --issuer, a --config file with issuers, or run with --dev",
      );
    }
    devSecret = system.devSecret ?? randomBytes(32).toString("base64url");
    issuers = [{ issuer: DEV_ISSUER, publisher: { key: devSecret }, subscriber: { key: devSecret } }];
  }

  originAllowlists(options, flagName);
  trustedProxiesOf(options, flagName);
  const config: ServeConfig = {
    ...options,
    host,
    port,
    issuers,
    legacy,
    legacyReasons: legacyAsked === undefined ? legacyReasons : [],
    legacyKeys,
    warnings,
    logLevel,
    logFormat,
    dev,
    devSecret,
    devTokens: devSecret === undefined ? undefined : { issuer: DEV_ISSUER, key: devSecret },
    workers,
  };
  const explanation: ConfigExplanation = {
    file: configFile,
    sourceOf: (flag) => find(optionSpec(flag)),
    resolved: read.resolved,
    fileIssuers: fileIssuers.length,
  };
  return { config, explanation };
}

/** The most worker processes: far more than any machine's cores, and few enough to fork. */
const MAX_WORKERS = 1024;

/** `--workers`: a whole number from 1, or `auto` for the number of cores. */
function workerCount(value: string, cores = availableParallelism()): number {
  if (value.trim().toLowerCase() === "auto") return cores;
  const count = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!(count >= 1 && count <= MAX_WORKERS)) {
    throw new UsageError(`--workers takes a whole number from 1 to ${MAX_WORKERS}, or auto; got ${value}`);
  }
  return count;
}

const listFormat = new Intl.ListFormat("en", { type: "conjunction" });

interface RoleKey {
  readonly role: Role;
  readonly material: KeyConfig;
  /** Where `material.key` came from, when it was given as a key (not a JWK Set URL). */
  readonly keyFrom: Found | undefined;
}

/**
 * Reads every option that has a place in the hub server's options, in the table's order, each
 * with the table's default (or dev mode's); the history and connection limits are composed.
 */
function readHubOptions(
  read: Reader,
  env: Readonly<Record<string, string | undefined>>,
  descriptors: number | undefined,
  dev: boolean,
): HubOptionsRead {
  const options: Record<string, unknown> = { streams: {}, limits: {}, sockets: {}, tokens: {} };
  for (const spec of SERVE_OPTIONS) {
    const path = spec.target;
    if (path === undefined || COMPOSED.has(spec.flag)) continue;
    if (path === "history.transport") {
      options.history = historyConfig(read, env);
    } else if (path === "limits.maxConnections") {
      const limits = resolveConnectionLimits(read, descriptors);
      assign(options, "sockets.maxSockets", limits.maxSockets);
      assign(options, "sockets.maxSocketsPerClient", limits.maxSocketsPerClient);
      assign(options, "limits.maxConnections", limits.maxConnections);
      assign(options, "limits.maxConnectionsPerClient", limits.maxConnectionsPerClient);
    } else if (!path.startsWith("history.")) {
      assign(options, path, read.value(spec, dev ? DEV_DEFAULTS[spec.flag] : undefined));
    }
  }
  if (read.source("shutdown-spread") === undefined) {
    assign(options, "shutdownSpreadMs", defaultShutdownSpread(options.shutdownTimeoutMs as number));
  }
  // Every field was assigned by the loop: the table's targets cover them (a test checks it).
  return options as unknown as HubOptionsRead;
}

/** The hub server's options the loop reads; the others are composed from several options. */
type HubOptionsRead = Omit<HubServerConfig, "host" | "port" | "issuers" | "legacy" | "legacyKeys">;

function assign(options: Record<string, unknown>, path: string, value: unknown): void {
  const [section, field] = path.split(".") as [string, string | undefined];
  if (field === undefined) options[section] = value;
  else (options[section] as Record<string, unknown>)[field] = value;
}

/** `--transport` and the retention options. */
function historyConfig(read: Reader, env: Readonly<Record<string, string | undefined>>): HistoryConfig {
  const size = optionSpec("history-size");
  const transport = read.string("transport", defaultOf("transport"));
  if (transport === "none" || transport === "memory") {
    const unused = [
      "data-dir",
      "history-max-age",
      "history-max-bytes",
      "history-durability",
      "redis-prefix",
      "node-lease",
    ];
    if (transport === "none") unused.push("history-size");
    for (const flag of unused.filter((flag) => read.source(flag) !== undefined)) {
      read.warnings.push(
        `--${flag} is not used: it applies to a sqlite or redis history, and --transport is ${transport}`,
      );
    }
    return transport === "none"
      ? { transport }
      : { transport, maxCount: read.integer("history-size", size.memoryDefault as number, size.minimum) };
  }
  if (transport.startsWith("redis://") || transport.startsWith("rediss://"))
    return redisHistory(read, transport);
  const path = storePath(transport, read.optionalString("data-dir"), env);
  for (const flag of ["redis-prefix", "node-lease"].filter((flag) => read.source(flag) !== undefined)) {
    read.warnings.push(`--${flag} is not used: it applies to a redis history, and --transport is sqlite`);
  }
  const durability = read.string("history-durability", defaultOf("history-durability"));
  if (durability !== "full" && durability !== "normal") {
    throw new UsageError(`--history-durability takes full or normal, got ${durability}`);
  }
  return {
    transport: "sqlite",
    path,
    maxCount: read.integer("history-size", size.default as number, size.minimum),
    maxAgeMs: read.duration("history-max-age", defaultOf("history-max-age")),
    maxBytes: read.integer("history-max-bytes", defaultOf("history-max-bytes")),
    durability,
  };
}

/** `--transport redis://...`: a history shared by a cluster of hubs, with sqlite's retention options. */
function redisHistory(read: Reader, url: string): HistoryConfig {
  const size = optionSpec("history-size");
  for (const flag of ["data-dir", "history-durability"].filter((flag) => read.source(flag) !== undefined)) {
    read.warnings.push(
      flag === "history-durability"
        ? "--history-durability is not used with a redis history: Redis's appendfsync setting decides what survives a crash (docs/cluster.md)"
        : `--${flag} is not used: it applies to a sqlite history, and --transport is redis`,
    );
  }
  return {
    transport: "redis",
    url,
    keyPrefix: read.string("redis-prefix", defaultOf("redis-prefix")),
    maxCount: read.integer("history-size", size.default as number, size.minimum),
    maxAgeMs: read.duration("history-max-age", defaultOf("history-max-age")),
    maxBytes: read.integer("history-max-bytes", defaultOf("history-max-bytes")),
    leaseMs: read.duration("node-lease", defaultOf("node-lease")),
  };
}

/** The key options, as one issuer's material; undefined when none was given. */
function flagKeyMaterial(
  read: Reader,
): { material: Pick<IssuerConfig, "publisher" | "subscriber">; roles: RoleKey[] } | undefined {
  const publisher = roleMaterial(read, "publisher");
  const subscriber = roleMaterial(read, "subscriber");
  if (publisher === undefined && subscriber === undefined) return undefined;
  // One key for both roles, as the reference hub's JWT_KEY: separate keys are better, not required.
  return {
    material: {
      publisher: (publisher ?? subscriber)?.material,
      subscriber: (subscriber ?? publisher)?.material,
    },
    roles: [publisher, subscriber].filter((role) => role !== undefined),
  };
}

function roleMaterial(read: Reader, role: Role): RoleKey | undefined {
  let key = read.optionalString(`${role}-key`);
  let keyFrom = read.source(`${role}-key`);
  const keyFile = read.optionalString(`${role}-key-file`);
  const jwksUri = read.optionalString(`${role}-jwks-uri`);
  const alg = read.optionalString(`${role}-alg`);
  if (keyFile !== undefined) {
    const fileFrom = read.source(`${role}-key-file`);
    const order = key === undefined ? -1 : precedence(fileFrom) - precedence(keyFrom);
    if (order === 0) throw new UsageError(`give --${role}-key or --${role}-key-file, not both`);
    // Else the better source wins: a leftover JWT_KEY does not fight --publisher-key-file.
    if (order < 0) {
      key = readKeyFile(keyFile, `--${role}-key-file`);
      keyFrom = fileFrom;
    }
  }
  if (key === undefined && jwksUri === undefined) {
    // The old hub's JWT_ALGORITHM applies to whichever keys are given; alone, it is harmless.
    if (alg !== undefined && read.source(`${role}-alg`)?.origin !== "0.x")
      throw new UsageError(`--${role}-alg was given without --${role}-key or --${role}-jwks-uri`);
    return undefined;
  }
  const material: KeyConfig = {};
  if (key !== undefined) material.key = key;
  if (jwksUri !== undefined) material.jwksUri = jwksUri;
  if (alg !== undefined) material.alg = alg;
  return { role, material, keyFrom: key === undefined ? undefined : keyFrom };
}

function precedence(found: Found | undefined): number {
  return found === undefined ? ORIGINS.length : ORIGINS.indexOf(found.origin);
}

/**
 * Lets the legacy dialect keep the short HMAC secrets of the old hub's tutorials
 * (`JWT_KEY='!ChangeMe!'`), but only from the reference hub's names: a key given with this hub's
 * own flags, variables or config file must be long enough. Returns a warning per short secret,
 * naming the variable, never the secret.
 */
function allowShortSecrets(roles: readonly RoleKey[]): string[] {
  const warnings = new Map<string, string>();
  for (const { material, keyFrom } of roles) {
    if (keyFrom === undefined || material.key === undefined) continue;
    if (!["reference", "docker", "0.x"].includes(keyFrom.origin) || looksLikePem(material.key)) continue;
    material.allowShortSecret = true;
    const alg = material.alg ?? "HS256";
    const bytes = new TextEncoder().encode(material.key).length;
    const minimum = hmacMinimumBytes(alg);
    if (bytes < minimum && bytes > 0) {
      warnings.set(
        keyFrom.name,
        `the secret in ${keyFrom.name} is ${bytes} bytes long, shorter than the ${minimum} bytes RFC 7518 wants for ${alg}; ` +
          `accepted for the old hub's configuration, but generate a new one with \`openssl rand -base64 ${minimum}\``,
      );
    }
  }
  return [...warnings.values()];
}

function unreadSettings(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(UNREAD_SETTINGS)
    .filter(([name]) => env[name] !== undefined && env[name] !== "")
    .map(([name, instead]) => `${name} is not read: ${instead} (docs/coming-from-the-go-hub.md)`);
}

/** `--listen` and its aliases; the Docker image's `SERVER_NAME` is a Caddy site address. */
function listenAddress(read: Reader): [string, number] {
  const listen = read.string("listen", defaultOf("listen"));
  const from = read.source("listen");
  if (from?.name === "SERVER_NAME") {
    const [host, port, tlsInCaddy] = parseServerName(listen);
    if (tlsInCaddy) {
      read.warnings.push(
        `SERVER_NAME=${listen}: Caddy served HTTPS there, Quicksilver serves plain HTTP; terminate TLS in front of it`,
      );
    }
    return [host, port];
  }
  const fromVariable = from !== undefined && from.origin !== "flag" && from.origin !== "file";
  return parseListen(listen, fromVariable ? from.name : "--listen");
}
