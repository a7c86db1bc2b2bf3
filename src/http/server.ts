import type { IncomingMessage, ServerResponse } from "node:http";
import type { TokenVerifier } from "../auth/verifier.ts";
import type { Hub } from "../hub/hub.ts";
import { silentLogger } from "../hub/logger.ts";
import { ProtocolError } from "../protocol/problems.ts";
import { parseSubscriptionsPath, subscriptionsPath } from "../protocol/subscription-resource.ts";
import { logDropped, waitForTurn } from "./connection-turn.ts";
import type { HttpContext } from "./context.ts";
import { corsHeaders, preflightHeaders } from "./cors.ts";
import { metadataRoute } from "./metadata-route.ts";
import type { HttpOptions } from "./options.ts";
import { publishRoute } from "./publish-route.ts";
import { sendJson, sendProblem } from "./respond.ts";
import { subscribeRoute } from "./subscribe-route.ts";
import { subscriptionsRoute } from "./subscriptions-route.ts";

const HUB_METHODS = "GET, POST, QUERY, OPTIONS";

/** The health check: answered even on a connection past the socket limits. */
export function isHealthCheck(req: IncomingMessage): boolean {
  return req.method === "GET" && pathOf(req) === HEALTH_PATH;
}

const HEALTH_PATH = "/healthz";

/** The path of the hub URL, without a trailing slash. */
export function hubPathOf(hubUrl: string): string {
  const path = new URL(hubUrl).pathname;
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

export function createContext(hub: Hub, verifier: TokenVerifier, options: HttpOptions): HttpContext {
  const hubUrl = new URL(options.hubUrl);
  const hubPath = hubPathOf(options.hubUrl);
  const metadataPath = `/.well-known/oauth-protected-resource${hubPath === "/" ? "" : hubPath}`;
  return {
    hub,
    verifier,
    options,
    logger: options.logger ?? silentLogger,
    hubPath,
    subscriptionsPath: subscriptionsPath(hubPath),
    metadataPath,
    metadataUrl: `${hubUrl.origin}${metadataPath}`,
    streamsPerClient: new Map(),
  };
}

/**
 * The request handler: routes to publish, subscribe and metadata, and turns errors into problems.
 * A request pipelined behind another is handled in its turn (see connection-turn.ts).
 */
export function createRequestHandler(
  context: HttpContext,
): (req: IncomingMessage, res: ServerResponse) => void {
  const run = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res, context).catch((error: unknown) => {
      if (error instanceof ProtocolError) {
        // A refused body may still be arriving: do not keep this connection for another request.
        sendProblem(res, error.code, error.message, {
          ...corsHeaders(req.headers.origin, context.options.corsOrigins),
          ...(req.complete ? {} : { Connection: "close" }),
        });
        return;
      }
      context.logger.error({ err: error, method: req.method, path: pathOf(req) }, "request failed");
      sendProblem(res, "internal_error", "the hub failed to handle the request");
    });
  };
  const maxWaiting = context.options.limits.maxPipelinedRequests;
  return (req, res) => {
    // The usual request owns its connection already: no promise, no tick.
    if (res.socket !== null) {
      run(req, res);
      return;
    }
    // Parsed from bytes that came along with others after the connection was closed: nothing to do.
    if (req.socket.destroyed) return;
    // Read now: a closed socket forgets its address.
    const remote = req.socket.remoteAddress;
    void waitForTurn(req, res, maxWaiting).then((turn) => {
      if (turn === "ready") run(req, res);
      else if (turn === "overflow") {
        context.logger.info(
          { remote, maxPipelinedRequests: maxWaiting },
          "connection closed: too many pipelined requests (maxPipelinedRequests)",
        );
      } else logDropped(context.logger, req);
    });
  };
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/**
 * The request target as a URL. node:http passes on any target without spaces or control
 * characters, `GET http://[::1/` included: the URL parser's refusal is the client's error, not the
 * hub's (a 500 and a stack trace in the log for each such request).
 */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? "/", "http://hub.invalid");
  } catch {
    throw new ProtocolError("request_target_invalid", "the request target is not a valid URL or path");
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, context: HttpContext): Promise<void> {
  const url = requestUrl(req);
  const path = url.pathname;
  if (path === context.hubPath) {
    if (context.hub.closing) {
      sendProblem(res, "shutting_down", "the hub is shutting down", { "Retry-After": "1" });
      return;
    }
    switch (req.method) {
      case "GET":
      case "QUERY":
        return subscribeRoute(req, res, url, context);
      case "POST":
        return publishRoute(req, res, context);
      case "OPTIONS":
        res.writeHead(204, {
          ...preflightHeaders(req.headers.origin, context.options.corsOrigins),
          Allow: HUB_METHODS,
        });
        res.end();
        return;
      default:
        sendProblem(res, "method_not_allowed", `${req.method} is not supported on the hub`, {
          Allow: HUB_METHODS,
        });
        return;
    }
  }
  if (context.hub.subscriptions !== undefined && path.startsWith(context.subscriptionsPath)) {
    const segments = parseSubscriptionsPath(path, context.hubPath);
    if (segments !== undefined) {
      if (req.method === "OPTIONS") {
        res.writeHead(204, {
          ...preflightHeaders(req.headers.origin, context.options.corsOrigins),
          Allow: "GET, OPTIONS",
        });
        res.end();
        return;
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        sendProblem(res, "method_not_allowed", "the subscription API is read-only", {
          Allow: "GET, OPTIONS",
        });
        return;
      }
      return subscriptionsRoute(req, res, url, segments, context);
    }
  }
  if (path === context.metadataPath && (req.method === "GET" || req.method === "HEAD")) {
    metadataRoute(res, context);
    return;
  }
  if (path === HEALTH_PATH && req.method === "GET") {
    const storeFailure = context.hub.closing ? undefined : context.hub.storeFailure;
    const status = context.hub.closing ? "closing" : storeFailure === undefined ? "ok" : "store_unavailable";
    sendJson(res, status === "ok" ? 200 : 503, {
      status,
      ...(storeFailure === undefined ? {} : { store: storeFailure }),
      streams: context.hub.connectionCount,
    });
    return;
  }
  sendProblem(res, "not_found", `nothing is served at ${path}`);
}
