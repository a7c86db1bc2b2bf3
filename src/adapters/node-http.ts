/**
 * `quicksilver/node-http`: the hub as a `(req, res)` handler for an application's own `node:http`
 * server, with the same options and defaults as `createHubServer`, minus what belongs to the
 * server (listening, TLS, socket limits). The Express, Fastify and Hono adapters are a few lines
 * over it. It imports no framework.
 */
import type { Server } from "node:http";
import type { HttpContext } from "../http/context.ts";
import { type HttpRequest, type HttpResponse, pathOf } from "../http/exchange.ts";
import { createContext, createRequestHandler, hubPathOf } from "../http/router.ts";
import type { Hub } from "../hub/hub.ts";
import { silentLogger } from "../hub/logger.ts";
import { subscriptionsPath } from "../protocol/subscription-resource.ts";
import { assembleHub } from "../server/assemble-hub.ts";
import type { HubServerOptions } from "../server/options.ts";
import { optionPath, resolveHubServerOptions } from "../server/resolve-options.ts";
import { UsageError } from "../server/usage-error.ts";

export { type DiscoveryLinkOptions, discoveryLinks } from "./discovery-link.ts";

/** `createHubServer`'s options that concern the listening server, which the application owns. */
const SERVER_ONLY_OPTIONS = [
  "host",
  "port",
  "publicUrl",
  "certFile",
  "keyFile",
  "h2c",
  "sockets",
  "metrics",
  "metricsListen",
] as const;
type ServerOnlyOptions = (typeof SERVER_ONLY_OPTIONS)[number];

/** What `createHubHandler` takes: `createHubServer`'s options, with the hub URL instead of a port. */
export interface HubHandlerOptions extends Omit<HubServerOptions, ServerOnlyOptions> {
  /**
   * The hub's URL as subscribers and publishers reach it through the application
   * (`https://app.example.com/.well-known/mercure`): its path is where the hub is mounted, relative
   * topics resolve against it, and tokens carry it in `aud` unless `resourceIdentifier` says otherwise.
   */
  readonly hubUrl: string;
}

/** The paths a hub at `hubUrl` answers in an application's server. */
export interface HubPaths {
  /** Publish and subscribe, e.g. `/.well-known/mercure`. */
  readonly hub: string;
  /** The subscription API under it, `{hub}/subscriptions` (with `subscriptions: true`). */
  readonly subscriptions: string;
  /** The protected resource metadata, `/.well-known/oauth-protected-resource{hub}`. */
  readonly metadata: string;
}

/** A hub mounted in an application's server: what `createHubHandler` resolves to. */
export interface HubHandler {
  /** The hub URL subscribers and publishers use. */
  readonly hubUrl: string;
  /** What tokens must carry in `aud`. */
  readonly resourceIdentifier: string;
  /** The paths the hub answers; every other request is left to the application. */
  readonly paths: HubPaths;
  readonly hub: Hub;
  /**
   * Whether the hub answers this request target (a path, with or without its query): the hub
   * path, the subscription API when it is on, and the metadata. Health checks and `/metrics` stay
   * the application's.
   */
  owns(target: string): boolean;
  /**
   * Answers the request if its path is one of the hub's (`paths`) and returns true; returns false,
   * having touched nothing, otherwise. Give it the request before anything reads its body.
   */
  handle(req: HttpRequest, res: HttpResponse): boolean;
  /**
   * Ends every stream (spread over `shutdownSpreadMs`, each told a reconnection delay), refuses
   * new hub requests with 503, and closes the transport. The application's server stays up.
   */
  close(): Promise<void>;
  /**
   * The graceful shutdown of an application's server that carries the hub: stops it listening,
   * ends the hub's streams (`close()`), closes the idle connections, and resolves once every
   * connection closed; connections still busy after `shutdownTimeoutMs` are cut.
   */
  shutdown(server: Server): Promise<void>;
}

/**
 * Builds a hub to mount in an application's own server: every option left out takes the default
 * `createHubServer` gives it (docs/configuration.md); history is in memory unless `history` or
 * `transport` says otherwise. Rejects with `UsageError` for options that cannot be used (a
 * `hubUrl` that is no absolute http(s) URL among them), and with `ConfigError` for issuers or keys
 * the verifier refuses.
 */
export async function createHubHandler(options: HubHandlerOptions): Promise<HubHandler> {
  const hubUrl = checkedHubUrl(options.hubUrl);
  for (const name of SERVER_ONLY_OPTIONS) {
    // Without types (plain JavaScript), a server option would otherwise be silently ignored.
    if ((options as unknown as Record<string, unknown>)[name] !== undefined) {
      throw new UsageError(
        `${name} is an option of the server, which is the application's: the mounted hub takes hubUrl and the hub's options`,
      );
    }
  }
  const { hubUrl: _hubUrl, ...rest } = options;
  const logger = options.logger ?? silentLogger;
  const { config, warnings } = resolveHubServerOptions({ ...rest, publicUrl: hubUrl });
  for (const warning of warnings) logger.warn({}, warning);
  const { hub, verifier, httpOptions } = await assembleHub(config, {
    hubUrl,
    logger,
    transport: options.transport,
    name: optionPath,
  });
  const { resourceIdentifier } = httpOptions;
  const context = createContext(hub, verifier, httpOptions);
  const route = createRequestHandler(context);
  const paths = hubPaths(hubUrl);
  const isHubPath = hubPathMatcher(context);
  const close = () => hub.close(config.shutdownSpreadMs);
  return {
    hubUrl,
    resourceIdentifier,
    paths,
    hub,
    owns: (target) => isHubPath(target.split("?", 1)[0]!),
    handle(req, res) {
      if (!isHubPath(pathOf(req))) return false;
      route(req, res);
      return true;
    },
    close,
    shutdown: (server) => shutdownServer(server, close, config.shutdownTimeoutMs),
  };
}

/** The paths a hub at `hubUrl` answers: for frameworks that route before anything else sees a request. */
export function hubPaths(hubUrl: string): HubPaths {
  const hub = hubPathOf(checkedHubUrl(hubUrl));
  return {
    hub,
    subscriptions: subscriptionsPath(hub),
    metadata: `/.well-known/oauth-protected-resource${hub === "/" ? "" : hub}`,
  };
}

/**
 * Whether a path is the hub's own: the hub path, the subscription API when it is on, and the
 * metadata. The health checks and `/metrics` stay the application's.
 */
function hubPathMatcher(context: HttpContext): (path: string) => boolean {
  const subscriptions = context.hub.subscriptions !== undefined;
  return (path) =>
    path === context.hubPath ||
    path === context.metadataPath ||
    (subscriptions &&
      (path === context.subscriptionsPath || path.startsWith(`${context.subscriptionsPath}/`)));
}

/** An absolute http(s) URL, as the hub URL must be: its path is where the hub is mounted. */
function checkedHubUrl(hubUrl: unknown): string {
  let url: URL | undefined;
  try {
    url = typeof hubUrl === "string" ? new URL(hubUrl) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new UsageError(
      `hubUrl must be the hub's absolute http(s) URL, as clients reach it (https://app.example.com/.well-known/mercure), got ${JSON.stringify(hubUrl)}`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    // Not echoed: the URL holds a secret, and it would go out in every discovery link.
    throw new UsageError("hubUrl must carry no user name or password");
  }
  if (url.search !== "" || url.hash !== "") {
    throw new UsageError(`hubUrl must have no query or fragment, got ${url.href}`);
  }
  return url.href;
}

/**
 * Stops listening first, so that no connection arrives that could not be served; then ends the
 * streams, which otherwise hold their connections open forever, and waits for the connections.
 */
async function shutdownServer(server: Server, closeHub: () => Promise<void>, timeoutMs: number) {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await closeHub();
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), timeoutMs);
  cut.unref();
  await closed;
  clearTimeout(cut);
}
