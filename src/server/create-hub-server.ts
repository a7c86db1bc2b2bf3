import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createVerifier } from "../auth/verifier.ts";
import { ConnectionDrain } from "../http/connection-drain.ts";
import { ConnectionGuard } from "../http/connection-guard.ts";
import { corsHeaders } from "../http/cors.ts";
import type { HttpOptions } from "../http/options.ts";
import { createContext, createRequestHandler, hubPathOf, isHealthCheck } from "../http/router.ts";
import { Hub } from "../hub/hub.ts";
import { type Logger, silentLogger } from "../hub/logger.ts";
import type { Transport } from "../hub/transport.ts";
import { openTransport } from "./open-transport.ts";
import type { HubServerConfig, HubServerOptions } from "./options.ts";
import {
  type OptionNamer,
  optionPath,
  originAllowlists,
  REQUEST_TIMEOUT_MS,
  resolveHubServerOptions,
} from "./resolve-options.ts";

/** A hub serving HTTP: what `createHubServer` returns. */
export interface HubServer {
  /** The hub URL subscribers and publishers use. */
  readonly hubUrl: string;
  /** What tokens must carry in `aud`. */
  readonly resourceIdentifier: string;
  readonly server: Server;
  readonly hub: Hub;
  /** The server's TCP connections, counted against the socket limits. */
  readonly connections: ConnectionGuard;
  /**
   * Stops listening, ends every stream (spread over `shutdownSpreadMs`), answers the requests
   * already received (publishes are stored, or refused with 503), closes the transport, then
   * every connection.
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
 * Starts a hub on its own `node:http` server, as `quicksilver serve` does: every option left out
 * takes its default (docs/configuration.md). Rejects with `UsageError` for options that cannot be
 * used, and with `ConfigError` for issuers or keys the verifier refuses.
 */
export async function createHubServer(options: HubServerOptions): Promise<HubServer> {
  const logger = options.logger ?? silentLogger;
  const { config, warnings } = resolveHubServerOptions(options);
  for (const warning of warnings) logger.warn({}, warning);
  return serveHub(config, { logger, transport: options.transport, name: optionPath });
}

/**
 * Starts a hub from options that already took their defaults and passed their checks (the CLI
 * resolves its own, naming options by their flags): listens first, so that port 0 resolves, then
 * builds the verifier, transport, hub and routes. A configuration the verifier refuses stops the start.
 */
export async function serveHub(
  config: HubServerConfig,
  how: { readonly logger: Logger; readonly transport?: Transport | undefined; readonly name: OptionNamer },
): Promise<HubServer> {
  const { logger } = how;
  const { corsOrigins, publishOrigins } = originAllowlists(config, how.name);
  const { headersTimeoutMs } = config.sockets;
  // Until the hub is built, requests are asked to come back.
  let route: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503, { "Retry-After": "1" });
    res.end();
  };
  const server = createServer({
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: headersTimeoutMs,
    // Expired headers are only noticed at this interval (Node checks every 30 s by default):
    // a tenth of the timeout, at most a second, so a silent socket is closed close to it.
    connectionsCheckingInterval: Math.min(1000, Math.ceil(headersTimeoutMs / 10)),
  });
  // Attached before listening, so that every connection is counted from its first moment.
  const connections = new ConnectionGuard(server, {
    maxSockets: config.sockets.maxSockets,
    maxSocketsPerClient: config.sockets.maxSocketsPerClient,
    headersTimeoutMs,
    refusalHeadersMs: Math.min(REFUSAL_HEADERS_MS, headersTimeoutMs),
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
      limits: { ...config.tokens, maxPatternLength: config.limits.maxPatternLength },
      ...(config.legacy ? { legacy: { ...(config.legacyKeys ? { keys: config.legacyKeys } : {}) } } : {}),
    });
    const transport =
      how.transport ?? (await openTransport(config.history, config.subscriptionHistorySize, logger));
    const hub = new Hub(transport, {
      ...config.streams,
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
      limits: config.limits,
      logger,
    };
    route = createRequestHandler(createContext(hub, verifier, options));
    return {
      hubUrl,
      resourceIdentifier,
      server,
      hub,
      connections,
      async close() {
        // Listening stops first, so no connection arrives that could not be served.
        const closed = drain.close(config.shutdownTimeoutMs);
        await hub.close(config.shutdownSpreadMs);
        await closed;
      },
    };
  } catch (error) {
    server.close();
    throw error;
  }
}

/** The host to put in the default hub URL: the configured name, or loopback for a wildcard bind. */
function urlHost(configured: string, address: AddressInfo): string {
  const host =
    configured === "0.0.0.0" || configured === "::" || configured === "" ? "localhost" : configured;
  return host.includes(":") ? `[${host}]` : host || address.address;
}
