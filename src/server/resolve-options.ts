/**
 * From the options an embedder gives to the options that take effect: every default from the
 * option table, then the checks every configuration must pass, whoever wrote it.
 */
import { TrustedProxies } from "../http/client-address.ts";
import { OriginAllowlist } from "../http/cors.ts";
import { REQUEST_LOG_LEVELS, type RequestLogLevel } from "../hub/logger.ts";
import { resolveConnectionLimits } from "./connection-limits.ts";
import { descriptorLimit } from "./descriptor-limit.ts";
import { defaultOf, type OptionSpec, optionSpec, SERVE_OPTIONS } from "./option-table.ts";
import {
  type HistoryConfig,
  type HistoryOptions,
  type HubServerConfig,
  type HubServerOptions,
  valueAt,
} from "./options.ts";
import { UsageError } from "./usage-error.ts";

/** The time a whole request (headers and body) may take to arrive. */
export const REQUEST_TIMEOUT_MS = 30_000;

/** How a message names an option: its flag for the command line, its path in code. */
export type OptionNamer = (flag: string) => string;

/** `heartbeat` → `streams.heartbeatMs`: how messages name an option given to `createHubServer`. */
export const optionPath: OptionNamer = (flag) => optionSpec(flag).target ?? flag;

/** The options that take effect, and what to warn about at startup. */
export interface ResolvedOptions {
  readonly config: HubServerConfig;
  readonly warnings: readonly string[];
}

/**
 * Applies every default of the option table to what `createHubServer` was given, and checks the
 * result. `descriptors` is the process's descriptor limit (`ulimit -n`), from which the socket
 * limits' defaults follow.
 */
export function resolveHubServerOptions(
  options: HubServerOptions,
  descriptors: number | undefined = descriptorLimit(),
): ResolvedOptions {
  const { transport: _transport, logger: _logger, ...given } = options;
  const config: Record<string, unknown> = {
    ...given,
    streams: { ...options.streams },
    limits: { ...options.limits },
    sockets: { ...options.sockets },
    tokens: { ...options.tokens },
  };
  // Development mode turns the page on, unless the embedder said otherwise.
  if (options.ui === undefined && options.dev === true) config.ui = true;
  for (const spec of SERVE_OPTIONS) {
    if (spec.target === undefined || spec.default === undefined || spec.target.startsWith("history."))
      continue;
    if (valueAt(config, spec.target) === undefined) assign(config, spec.target, spec.default);
  }
  if (options.shutdownSpreadMs === undefined) {
    config.shutdownSpreadMs = defaultShutdownSpread(config.shutdownTimeoutMs as number);
  }
  const [host, port] = splitListen(defaultOf<string>("listen"));
  config.host ??= host;
  config.port ??= port;
  config.history = historyWithDefaults(options.history);
  const warnings: string[] = [];
  const limits = config.limits as Record<string, number>;
  const sockets = config.sockets as Record<string, number>;
  const computed = resolveConnectionLimits(
    {
      integer: (flag, fallback) => (valueAt(config, optionPath(flag)) as number | undefined) ?? fallback,
      source: (flag) => valueAt(config, optionPath(flag)),
      name: optionPath,
      warnings,
    },
    descriptors,
  );
  limits.maxConnections = computed.maxConnections;
  limits.maxConnectionsPerClient = computed.maxConnectionsPerClient;
  sockets.maxSockets = computed.maxSockets;
  sockets.maxSocketsPerClient = computed.maxSocketsPerClient;
  const resolved = config as unknown as HubServerConfig;
  checkOptions(resolved, optionPath);
  originAllowlists(resolved, optionPath);
  trustedProxiesOf(resolved, optionPath);
  return { config: resolved, warnings };
}

function historyWithDefaults(history: HistoryOptions = { transport: "memory" }): HistoryConfig {
  const size = optionSpec("history-size");
  switch (history.transport) {
    case "none":
      return { transport: "none" };
    case "memory":
      return { transport: "memory", maxCount: history.maxCount ?? (size.memoryDefault as number) };
    case "sqlite":
      return {
        transport: "sqlite",
        path: history.path,
        maxCount: history.maxCount ?? (size.default as number),
        maxAgeMs: history.maxAgeMs ?? defaultOf<number>("history-max-age"),
        maxBytes: history.maxBytes ?? defaultOf<number>("history-max-bytes"),
        durability: history.durability ?? defaultOf<"full" | "normal">("history-durability"),
      };
    case "redis":
      return {
        transport: "redis",
        url: history.url,
        keyPrefix: history.keyPrefix ?? defaultOf<string>("redis-prefix"),
        maxCount: history.maxCount ?? (size.default as number),
        maxAgeMs: history.maxAgeMs ?? defaultOf<number>("history-max-age"),
        maxBytes: history.maxBytes ?? defaultOf<number>("history-max-bytes"),
        leaseMs: history.leaseMs ?? defaultOf<number>("node-lease"),
      };
  }
}

/**
 * The spread when none is given: the table's, at most half the shutdown timeout, so that a short
 * timeout alone is a valid configuration and leaves time for the answers after the last stream.
 */
export function defaultShutdownSpread(shutdownTimeoutMs: number): number {
  return Math.min(defaultOf<number>("shutdown-spread"), Math.floor(shutdownTimeoutMs / 2));
}

/**
 * The rules every configuration must follow, whoever wrote it: whole numbers in range, and the
 * bounds that only make sense together. `name` says how messages name an option.
 */
export function checkOptions(
  config: Pick<
    HubServerConfig,
    | "streams"
    | "limits"
    | "sockets"
    | "requestLogLevel"
    | "certFile"
    | "keyFile"
    | "h2c"
    | "shutdownTimeoutMs"
    | "shutdownSpreadMs"
  >,
  name: OptionNamer,
): void {
  for (const spec of SERVE_OPTIONS) checkNumber(config, spec, name);
  if (!REQUEST_LOG_LEVELS.includes(config.requestLogLevel as RequestLogLevel)) {
    throw new UsageError(
      `${name("request-log-level")} takes ${REQUEST_LOG_LEVELS.join(", ")}, got ${String(config.requestLogLevel)}`,
    );
  }
  if ((config.certFile === undefined) !== (config.keyFile === undefined)) {
    const [given, missing] = config.certFile === undefined ? ["key", "cert"] : ["cert", "key"];
    throw new UsageError(
      `${name(given)} was given without ${name(missing)}: TLS needs both the certificate and its private key`,
    );
  }
  if (config.certFile !== undefined && config.h2c) {
    throw new UsageError(
      `${name("h2c")} is cleartext HTTP/2: with ${name("cert")}, HTTP/2 is already served over TLS`,
    );
  }
  if (config.streams.maxQueueBytes < 2 * config.limits.maxBodyBytes) {
    throw new UsageError(
      `${name("max-queue-bytes")} must be at least twice ${name("max-body-bytes")}, or one large update would drop every subscriber`,
    );
  }
  if (config.limits.publishBurst !== undefined && config.limits.publishRate === 0) {
    throw new UsageError(
      `${name("publish-burst")} applies to a publish rate: set ${name("publish-rate")} too, or leave both unset`,
    );
  }
  if (config.streams.heartbeatMs < 100) throw new UsageError(`${name("heartbeat")} must be at least 100ms`);
  // The streams must have ended before the connections still open are cut.
  if (config.shutdownSpreadMs >= config.shutdownTimeoutMs) {
    throw new UsageError(`${name("shutdown-spread")} must be less than ${name("shutdown-timeout")}`);
  }
  const headersTimeoutMs = config.sockets.headersTimeoutMs;
  if (headersTimeoutMs < 100 || headersTimeoutMs > REQUEST_TIMEOUT_MS) {
    throw new UsageError(
      `${name("headers-timeout")} must be between 100ms and ${REQUEST_TIMEOUT_MS / 1000}s, the time a whole request may take`,
    );
  }
}

/** A number the table says is a whole number (or a duration) must be one, at least its minimum. */
function checkNumber(config: object, spec: OptionSpec, name: OptionNamer): void {
  if (spec.target === undefined || (spec.kind !== "integer" && spec.kind !== "duration")) return;
  const value = valueAt(config, spec.target);
  if (value === undefined) return;
  const minimum = spec.kind === "duration" ? 0 : (spec.minimum ?? 1);
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < minimum) {
    const what = spec.kind === "duration" ? "a whole number of milliseconds" : "a whole number";
    throw new UsageError(`${name(spec.flag)} takes ${what} of at least ${minimum}, got ${String(value)}`);
  }
}

/**
 * The CORS and CSRF allowlists. `*` is fine for CORS (any origin, without credentials) but never
 * for the CSRF defence.
 */
export function originAllowlists(
  config: Pick<HubServerConfig, "corsOrigins" | "publishOrigins">,
  name: OptionNamer,
): { corsOrigins: OriginAllowlist; publishOrigins: OriginAllowlist } {
  return {
    corsOrigins: allowlist(name("cors-origins"), config.corsOrigins, true),
    publishOrigins: allowlist(name("publish-origins"), config.publishOrigins, false),
  };
}

function allowlist(name: string, entries: readonly string[], allowAnyOrigin: boolean): OriginAllowlist {
  try {
    return new OriginAllowlist(entries, { allowAnyOrigin });
  } catch (error) {
    throw new UsageError(`${name}: ${(error as Error).message}`);
  }
}

/** The reverse proxies whose forwarding headers are believed; an entry that is no address is refused. */
export function trustedProxiesOf(
  config: Pick<HubServerConfig, "trustedProxies">,
  name: OptionNamer,
): TrustedProxies {
  try {
    return new TrustedProxies(config.trustedProxies);
  } catch (error) {
    throw new UsageError(`${name("trusted-proxies")}: ${(error as Error).message}`);
  }
}

/** `localhost:3000` → localhost, 3000: the table's default listen address. */
function splitListen(listen: string): [string, number] {
  const colon = listen.lastIndexOf(":");
  return [listen.slice(0, colon), Number(listen.slice(colon + 1))];
}

function assign(config: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split(".");
  const last = keys.pop() as string;
  let section = config;
  for (const key of keys) section = section[key] as Record<string, unknown>;
  section[last] = Array.isArray(value) ? [...value] : value;
}
