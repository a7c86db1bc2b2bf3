import type { AddressInfo, Server } from "node:net";
import { ConnectionDrain } from "../http/connection-drain.ts";
import { ConnectionGuard } from "../http/connection-guard.ts";
import { corsHeaders } from "../http/cors.ts";
import type { HttpRequest, HttpResponse } from "../http/exchange.ts";
import { isHealthCheck } from "../http/health-route.ts";
import { writeHead } from "../http/respond.ts";
import { createContext, createRequestHandler } from "../http/router.ts";
import { TcpSockets } from "../http/tcp-sockets.ts";
import type { Hub } from "../hub/hub.ts";
import { type Logger, silentLogger } from "../hub/logger.ts";
import type { Transport } from "../hub/transport.ts";
import { parseAdminAddress } from "../metrics/admin-address.ts";
import { type AdminListener, startAdminListener } from "../metrics/admin-listener.ts";
import { HubMetrics } from "../metrics/hub-metrics.ts";
import { metricsEndpoint } from "../metrics/metrics-endpoint.ts";
import { assembleHub } from "./assemble-hub.ts";
import { readCertificatePair } from "./certificate.ts";
import type { HubServerConfig, HubServerOptions } from "./options.ts";
import { createProtocolServers } from "./protocol-servers.ts";
import {
  type OptionNamer,
  optionPath,
  originAllowlists,
  REQUEST_TIMEOUT_MS,
  resolveHubServerOptions,
} from "./resolve-options.ts";
import { UsageError } from "./usage-error.ts";

/** A hub serving HTTP: what `createHubServer` returns. */
export interface HubServer {
  /** The hub URL subscribers and publishers use. */
  readonly hubUrl: string;
  /** What tokens must carry in `aud`. */
  readonly resourceIdentifier: string;
  /**
   * The server listening on the port: node:http's by default; node:http2's secure server with
   * TLS (it serves HTTP/1.1 too); with h2c, a net.Server handing each connection to node:http or
   * node:http2. Every one emits 'connection' for each TCP connection.
   */
  readonly server: Server;
  readonly hub: Hub;
  /** The server's TCP connections, counted against the socket limits. */
  readonly connections: ConnectionGuard;
  /** The metrics it collects, when `metrics` or `metricsListen` asked for them. */
  readonly metrics: HubMetrics | undefined;
  /** The admin listener (`metricsListen`), when there is one. */
  readonly admin: AdminListener | undefined;
  /**
   * Reads the certificate and key files again and serves the new pair to new TLS connections;
   * open connections and their streams keep the pair they started with. Rejects with
   * `UsageError` when the new pair cannot be used (the old one stays), or when TLS is off.
   */
  reloadCertificate(): Promise<void>;
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
 * Starts a hub on its own server (node:http, or node:http2 with TLS or h2c), as `quicksilver serve` does: every option left out
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
  how: {
    readonly logger: Logger;
    readonly transport?: Transport | undefined;
    readonly name: OptionNamer;
    /**
     * Whether this process serves `metricsListen` itself (the default). A worker of several does
     * not: its primary serves it, with every worker's metrics.
     */
    readonly adminListener?: boolean;
  },
): Promise<HubServer> {
  const { logger } = how;
  const adminAddress =
    config.metricsListen === undefined || how.adminListener === false
      ? undefined
      : parseAdminAddress(config.metricsListen, how.name("metrics-listen"));
  const { corsOrigins } = originAllowlists(config, how.name);
  const { headersTimeoutMs } = config.sockets;
  const tlsFiles =
    config.certFile === undefined || config.keyFile === undefined
      ? undefined
      : { certFile: config.certFile, keyFile: config.keyFile };
  // Until the hub is built, requests are asked to come back.
  let route: (req: HttpRequest, res: HttpResponse) => void = (_req, res) => {
    writeHead(res, 503, { "Retry-After": "1" });
    res.end();
  };
  const protocols = createProtocolServers({
    tls: tlsFiles === undefined ? undefined : readCertificatePair(tlsFiles, how.name),
    h2c: config.h2c,
    headersTimeoutMs,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    maxStreamsPerConnection: config.sockets.maxStreamsPerConnection,
  });
  const server = protocols.listener;
  // Attached before listening, so that every connection is counted from its first moment.
  const sockets = new TcpSockets(server, tlsFiles !== undefined || config.h2c);
  const connections = new ConnectionGuard(
    server,
    {
      maxSockets: config.sockets.maxSockets,
      maxSocketsPerClient: config.sockets.maxSocketsPerClient,
      headersTimeoutMs,
      refusalHeadersMs: Math.min(REFUSAL_HEADERS_MS, headersTimeoutMs),
    },
    sockets,
  );
  const drain = new ConnectionDrain(server, sockets);
  protocols.onSession((session) => drain.trackSession(session));
  protocols.onRequest(
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
  let metrics: HubMetrics | undefined;
  let admin: AdminListener | undefined;
  try {
    const address = server.address() as AddressInfo;
    const scheme = tlsFiles === undefined ? "http" : "https";
    const hubUrl =
      config.publicUrl ?? `${scheme}://${urlHost(config.host, address)}:${address.port}${DEFAULT_HUB_PATH}`;
    const {
      hub,
      verifier,
      transport,
      httpOptions: options,
    } = await assembleHub(config, {
      hubUrl,
      logger,
      transport: how.transport,
      name: how.name,
    });
    const { resourceIdentifier } = options;
    // Collected only when asked for: otherwise nobody listens to the diagnostics channels.
    if (config.metrics || config.metricsListen !== undefined) {
      metrics = new HubMetrics({ hub, transport });
    }
    const endpoint =
      metrics === undefined
        ? undefined
        : metricsEndpoint(
            { contentType: metrics.registry.contentType, read: () => metrics!.registry.metrics() },
            logger,
          );
    if (adminAddress !== undefined && endpoint !== undefined) {
      try {
        admin = await startAdminListener(adminAddress, { metrics: endpoint, health: hub });
      } catch (error) {
        await hub.close();
        throw error;
      }
    }
    route = createRequestHandler(
      createContext(hub, verifier, { ...options, ...(config.metrics ? { metrics: endpoint } : {}) }),
    );
    return {
      hubUrl,
      resourceIdentifier,
      server,
      hub,
      connections,
      metrics,
      admin,
      async reloadCertificate() {
        if (tlsFiles === undefined || protocols.secure === undefined) {
          throw new UsageError(
            `no certificate to reload: TLS is off (${how.name("cert")}, ${how.name("key")})`,
          );
        }
        // Checked before it replaces anything: a bad pair leaves the old one serving.
        protocols.secure.setSecureContext(readCertificatePair(tlsFiles, how.name));
      },
      async close() {
        // Listening stops first, so no connection arrives that could not be served. The admin
        // listener stays until the end: an orchestrator sees the hub live, and not ready, meanwhile.
        const closed = drain.close(config.shutdownTimeoutMs);
        await hub.close(config.shutdownSpreadMs);
        await closed;
        await admin?.close();
        metrics?.close();
        protocols.release();
      },
    };
  } catch (error) {
    server.close();
    await admin?.close();
    metrics?.close();
    throw error;
  }
}

/** The host to put in the default hub URL: the configured name, or loopback for a wildcard bind. */
function urlHost(configured: string, address: AddressInfo): string {
  const host =
    configured === "0.0.0.0" || configured === "::" || configured === "" ? "localhost" : configured;
  return host.includes(":") ? `[${host}]` : host || address.address;
}
