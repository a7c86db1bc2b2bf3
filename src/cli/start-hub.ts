import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createVerifier } from "../auth/verifier.ts";
import { OriginAllowlist } from "../http/cors.ts";
import type { HttpOptions } from "../http/options.ts";
import { createContext, createRequestHandler, hubPathOf } from "../http/server.ts";
import { Hub } from "../hub/hub.ts";
import { type Logger, silentLogger } from "../hub/logger.ts";
import type { Transport } from "../hub/transport.ts";
import { MemoryTransport } from "../transports/memory.ts";
import { SqliteTransport } from "../transports/sqlite.ts";
import { type ServeConfig, UsageError } from "./resolve-config.ts";

export interface RunningHub {
  /** The hub URL subscribers and publishers use. */
  readonly hubUrl: string;
  readonly resourceIdentifier: string;
  readonly server: Server;
  readonly hub: Hub;
  /** Ends every stream, stops listening, and closes the transport. */
  close(): Promise<void>;
}

const DEFAULT_HUB_PATH = "/.well-known/mercure";

/**
 * Connections the kernel may hold before the hub accepts them (capped by net.core.somaxconn).
 * Node's 511 overflows when every client of a restarted hub reconnects at once, and a dropped
 * connection attempt is retried only a second later.
 */
const LISTEN_BACKLOG = 4096;

/**
 * Starts a hub from a resolved configuration: listens first (so port 0 resolves), then builds the
 * verifier, transport, hub and routes. A configuration the verifier refuses stops the start.
 */
export async function startHub(config: ServeConfig, logger: Logger = silentLogger): Promise<RunningHub> {
  // `*` is fine for CORS (any origin, without credentials) but never for the CSRF defence.
  const corsOrigins = allowlist("cors-origins", config.corsOrigins, true);
  const publishOrigins = allowlist("publish-origins", config.publishOrigins, false);
  let handler: Parameters<typeof createServer>[1] = (_req, res) => {
    res.writeHead(503, { "Retry-After": "1" });
    res.end();
  };
  const server = createServer({ requestTimeout: 30_000 }, (req, res) => handler!(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  try {
    const address = server.address() as AddressInfo;
    const hubUrl =
      config.publicUrl ?? `http://${urlHost(config.host, address)}:${address.port}${DEFAULT_HUB_PATH}`;
    const resourceIdentifier = config.resourceIdentifier ?? hubUrl;
    const verifier = await createVerifier({
      issuers: config.issuers,
      resourceIdentifier,
      baseUrl: hubUrl,
      limits: {
        maxTokenBytes: config.maxTokenBytes,
        maxAuthorizationDetails: config.maxAuthorizationDetails,
        maxTopicsPerDetail: config.maxTopicsPerDetail,
        maxPatternLength: config.maxPatternLength,
        maxPayloadDepth: config.maxPayloadDepth,
      },
      ...(config.legacy ? { legacy: { ...(config.legacyKeys ? { keys: config.legacyKeys } : {}) } } : {}),
    });
    const transport = openTransport(config.history, config.subscriptionHistorySize, logger);
    const hub = new Hub(transport, {
      heartbeatMs: config.heartbeatMs,
      writeTimeoutMs: config.writeTimeoutMs,
      maxLifetimeMs: config.maxLifetimeMs,
      maxQueueBytes: config.maxQueueBytes,
      ...(config.subscriptions ? { subscriptions: { hubPath: hubPathOf(hubUrl) } } : {}),
      logger,
    });
    const options: HttpOptions = {
      hubUrl,
      resourceIdentifier,
      anonymous: config.anonymous,
      corsOrigins,
      publishOrigins,
      cookieName: config.cookieName,
      legacy: config.legacy,
      authorizationServers: config.authorizationServers,
      limits: {
        maxBodyBytes: config.maxBodyBytes,
        maxFieldBytes: config.maxFieldBytes,
        maxFields: config.maxFields,
        maxTopics: config.maxTopics,
        maxMatchers: config.maxMatchers,
        maxPatternLength: config.maxPatternLength,
        maxConnections: config.maxConnections,
        maxConnectionsPerClient: config.maxConnectionsPerClient,
        maxSubscriptionsListed: config.maxSubscriptionsListed,
        maxPipelinedRequests: config.maxPipelinedRequests,
      },
      logger,
    };
    handler = createRequestHandler(createContext(hub, verifier, options));
    logStartupWarnings(config, logger);
    return {
      hubUrl,
      resourceIdentifier,
      server,
      hub,
      async close() {
        await hub.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
      },
    };
  } catch (error) {
    server.close();
    throw error;
  }
}

/** The one place a transport is chosen. */
function openTransport(
  history: ServeConfig["history"],
  subscriptionHistorySize: number,
  logger: Logger,
): Transport {
  switch (history.transport) {
    case "none":
      return new MemoryTransport({ historySize: 0, subscriptionHistorySize });
    case "memory":
      return new MemoryTransport({ historySize: history.maxCount, subscriptionHistorySize });
    case "sqlite":
      return new SqliteTransport({
        path: history.path,
        subscriptionHistorySize,
        retention: { maxCount: history.maxCount, maxAgeMs: history.maxAgeMs, maxBytes: history.maxBytes },
        durability: history.durability,
        logger,
      });
  }
}

function allowlist(flag: string, entries: readonly string[], allowAnyOrigin: boolean): OriginAllowlist {
  try {
    return new OriginAllowlist(entries, { allowAnyOrigin });
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`);
  }
}

/** Once per start, once the configuration is accepted: why the legacy dialect is on, and the rest. */
function logStartupWarnings(config: ServeConfig, logger: Logger): void {
  for (const reason of config.legacyReasons) {
    logger.warn({}, `legacy dialect on: ${reason}; set MERCURE_LEGACY=0 to refuse 0.x clients`);
  }
  for (const warning of config.warnings) logger.warn({}, warning);
}

/** The host to put in the default hub URL: the configured name, or loopback for a wildcard bind. */
function urlHost(configured: string, address: AddressInfo): string {
  const host =
    configured === "0.0.0.0" || configured === "::" || configured === "" ? "localhost" : configured;
  return host.includes(":") ? `[${host}]` : host || address.address;
}
