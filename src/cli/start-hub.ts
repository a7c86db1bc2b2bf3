import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createVerifier } from "../auth/verifier.ts";
import { ConnectionDrain } from "../http/connection-drain.ts";
import { ConnectionGuard } from "../http/connection-guard.ts";
import { corsHeaders, OriginAllowlist } from "../http/cors.ts";
import type { HttpOptions } from "../http/options.ts";
import { createContext, createRequestHandler, hubPathOf, isHealthCheck } from "../http/router.ts";
import { Hub } from "../hub/hub.ts";
import { type Logger, silentLogger } from "../hub/logger.ts";
import type { Transport } from "../hub/transport.ts";
import { MemoryTransport } from "../transports/memory.ts";
import { SqliteTransport } from "../transports/sqlite.ts";
import { REQUEST_TIMEOUT_MS, type ServeConfig, UsageError } from "./resolve-config.ts";

export interface RunningHub {
  /** The hub URL subscribers and publishers use. */
  readonly hubUrl: string;
  readonly resourceIdentifier: string;
  readonly server: Server;
  readonly hub: Hub;
  /** The server's TCP connections, counted against the socket limits. */
  readonly connections: ConnectionGuard;
  /**
   * Stops listening, ends every stream, answers the requests already received (publishes are
   * stored, or refused with 503), closes the transport, then every connection.
   */
  close(): Promise<void>;
}

const DEFAULT_HUB_PATH = "/.well-known/mercure";

/**
 * Connections the kernel may hold before the hub accepts them (capped by net.core.somaxconn).
 * Node's 511 overflows when every client of a restarted hub reconnects at once, and a dropped
 * connection attempt is retried only a second later.
 */
const LISTEN_BACKLOG = 4096;

/** Sockets past a socket limit have this long to send their headers, if less than headers-timeout. */
const REFUSAL_HEADERS_MS = 1000;

/**
 * Starts a hub from a resolved configuration: listens first (so port 0 resolves), then builds the
 * verifier, transport, hub and routes. A configuration the verifier refuses stops the start.
 */
export async function startHub(config: ServeConfig, logger: Logger = silentLogger): Promise<RunningHub> {
  // `*` is fine for CORS (any origin, without credentials) but never for the CSRF defence.
  const corsOrigins = allowlist("cors-origins", config.corsOrigins, true);
  const publishOrigins = allowlist("publish-origins", config.publishOrigins, false);
  // Until the hub is built, requests are asked to come back.
  let route: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503, { "Retry-After": "1" });
    res.end();
  };
  const server = createServer({
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: config.headersTimeoutMs,
    // Expired headers are only noticed at this interval (Node checks every 30 s by default):
    // a tenth of the timeout, at most a second, so a silent socket is closed close to it.
    connectionsCheckingInterval: Math.min(1000, Math.ceil(config.headersTimeoutMs / 10)),
  });
  // Attached before listening, so that every connection is counted from its first moment.
  const connections = new ConnectionGuard(server, {
    maxSockets: config.maxSockets,
    maxSocketsPerClient: config.maxSocketsPerClient,
    headersTimeoutMs: config.headersTimeoutMs,
    refusalHeadersMs: Math.min(REFUSAL_HEADERS_MS, config.headersTimeoutMs),
  });
  const drain = new ConnectionDrain(server);
  server.on(
    "request",
    drain.track(
      connections.guard(
        (req, res) => route(req, res),
        isHealthCheck,
        (req) => corsHeaders(req.headers.origin, corsOrigins),
      ),
    ),
  );
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
    route = createRequestHandler(createContext(hub, verifier, options));
    logStartupWarnings(config, logger);
    return {
      hubUrl,
      resourceIdentifier,
      server,
      hub,
      connections,
      async close() {
        // Listening stops first, so no connection arrives that could not be served.
        const closed = drain.close(config.shutdownTimeoutMs);
        await hub.close();
        await closed;
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
