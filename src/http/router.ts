import type { IncomingMessage, ServerResponse } from "node:http";
import type { TokenVerifier } from "../auth/verifier.ts";
import { publishRefused, requestRefused } from "../hub/diagnostics.ts";
import type { Hub } from "../hub/hub.ts";
import { silentLogger } from "../hub/logger.ts";
import { PROBLEMS, type ProblemCode, ProtocolError } from "../protocol/problems.ts";
import { parseSubscriptionsPath, subscriptionsPath } from "../protocol/subscription-resource.ts";
import { waitForTurn } from "./connection-turn.ts";
import type { HttpContext } from "./context.ts";
import { corsHeaders, preflightHeaders } from "./cors.ts";
import { type HttpRequest, type HttpResponse, isHttp2, logDropped, pathOf } from "./exchange.ts";
import { healthRoute, isHealthPath } from "./health-route.ts";
import { metadataRoute } from "./metadata-route.ts";
import type { HttpOptions } from "./options.ts";
import { PublishRateLimiter } from "./publish-rate-limiter.ts";
import { publishRoute } from "./publish-route.ts";
import { HttpRefusal } from "./refusal.ts";
import { assignRequestId, requestIdOf } from "./request-id.ts";
import { RequestLog } from "./request-log.ts";
import { sendProblem, writeHead } from "./respond.ts";
import { StreamLimiter } from "./stream-limiter.ts";
import { subscribeRoute } from "./subscribe-route.ts";
import { subscriptionsRoute } from "./subscriptions-route.ts";
import { uiPathOf, uiRoute } from "./ui-route.ts";

const HUB_METHODS = "GET, POST, QUERY, OPTIONS";

/** Where the Prometheus metrics are served, when the public port serves them. */
export const METRICS_PATH = "/metrics";

/** The path of the hub URL, without a trailing slash. */
export function hubPathOf(hubUrl: string): string {
  const path = new URL(hubUrl).pathname;
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

export interface ContextOptions {
  /** The clock, in milliseconds since the epoch: `Date.now` unless a test controls the time. */
  readonly now?: () => number;
}

export function createContext(
  hub: Hub,
  verifier: TokenVerifier,
  options: HttpOptions,
  { now = Date.now }: ContextOptions = {},
): HttpContext {
  const hubUrl = new URL(options.hubUrl);
  const hubPath = hubPathOf(options.hubUrl);
  const metadataPath = `/.well-known/oauth-protected-resource${hubPath === "/" ? "" : hubPath}`;
  const logger = options.logger ?? silentLogger;
  return {
    hub,
    verifier,
    options,
    logger,
    requestLog: new RequestLog(logger, options.requestLogLevel ?? "debug"),
    hubPath,
    subscriptionsPath: subscriptionsPath(hubPath),
    metadataPath,
    metadataUrl: `${hubUrl.origin}${metadataPath}`,
    streams: new StreamLimiter(options.limits),
    publishRate:
      options.limits.publishRate > 0
        ? new PublishRateLimiter(
            options.limits.publishRate,
            options.limits.publishBurst ?? 2 * options.limits.publishRate,
            now,
          )
        : undefined,
    now,
  };
}

/**
 * The request handler, for a `node:http` server or a `node:http2` one (its compatibility API):
 * routes to publish, subscribe, the subscription API and metadata. Routes decide and throw their
 * refusals; every refusal and failure is answered here, in `answerError`. Over HTTP/1.1, a
 * request pipelined behind another is handled in its turn (see connection-turn.ts); HTTP/2
 * streams are independent and handled at once.
 */
export function createRequestHandler(context: HttpContext): (req: HttpRequest, res: HttpResponse) => void {
  const run = (req: HttpRequest, res: HttpResponse): void => {
    handle(req, res, context).catch((error: unknown) => answerError(req, res, error, context));
  };
  const maxWaiting = context.options.limits.maxPipelinedRequests;
  return (req, res) => {
    assignRequestId(req, res);
    // An HTTP/2 stream, or the usual HTTP/1 request that owns its connection already: no promise,
    // no tick.
    if (isHttp2(res) || res.socket !== null) {
      run(req, res);
      return;
    }
    const http1 = req as IncomingMessage;
    // Parsed from bytes that came along with others after the connection was closed: nothing to do.
    if (http1.socket.destroyed) return;
    // Read now: a closed socket forgets its address.
    const remote = http1.socket.remoteAddress;
    void waitForTurn(http1, res as ServerResponse, maxWaiting).then((turn) => {
      if (turn === "ready") run(req, res);
      else if (turn === "overflow") {
        context.logger.info(
          { requestId: requestIdOf(req), remote, maxPipelinedRequests: maxWaiting },
          "connection closed: too many pipelined requests (maxPipelinedRequests)",
        );
      } else logDropped(context.logger, req);
    });
  };
}

/**
 * The one place a refusal is answered: its problem, the CORS headers of the request's origin
 * (unless the refusal has none), its own headers, and, over HTTP/1.1, `Connection: close` when
 * the body was not read (a refused body may still be arriving: the connection must not be kept
 * for another request). Every refusal is told to the `requestRefused` diagnostics channel, a
 * refused publish to `publishRefused` as well.
 * Anything else thrown is a defect: logged, and answered 500.
 */
function answerError(req: HttpRequest, res: HttpResponse, error: unknown, context: HttpContext): void {
  if (!(error instanceof ProtocolError)) {
    context.logger.error(
      { err: error, requestId: requestIdOf(req), method: req.method, path: pathOf(req) },
      "request failed",
    );
    tellRefused(req, "internal_error", undefined, context);
    sendProblem(res, "internal_error", "the hub failed to handle the request");
    return;
  }
  const refusal = error instanceof HttpRefusal ? error : undefined;
  const headers: Record<string, string> = {
    ...(refusal?.cors === false ? {} : corsHeaders(req.headers.origin, context.options.corsOrigins)),
    ...refusal?.headers,
  };
  if (!isHttp2(res) && (refusal?.bodyUnread === true || !req.complete)) headers.Connection = "close";
  tellRefused(req, error.code, refusal?.limit, context);
  context.requestLog.refused(req, error.code, error.status);
  sendProblem(res, error.code, error.message, headers);
}

/** Tells the diagnostics channels of a refusal: every one, and a refused publish once more. */
function tellRefused(
  req: HttpRequest,
  code: ProblemCode,
  limit: string | undefined,
  context: HttpContext,
): void {
  if (requestRefused.hasSubscribers) {
    const status = PROBLEMS[code].status;
    requestRefused.publish(limit === undefined ? { code, status } : { code, status, limit });
  }
  if (!publishRefused.hasSubscribers || req.method !== "POST" || pathOf(req) !== context.hubPath) return;
  publishRefused.publish({ code, status: PROBLEMS[code].status });
}

/**
 * The request target as a URL. node:http passes on any target without spaces or control
 * characters, `GET http://[::1/` included: the URL parser's refusal is the client's error, not the
 * hub's (a 500 and a stack trace in the log for each such request).
 */
function requestUrl(req: HttpRequest): URL {
  try {
    return new URL(req.url ?? "/", "http://hub.invalid");
  } catch {
    throw new ProtocolError("request_target_invalid", "the request target is not a valid URL or path");
  }
}

async function handle(req: HttpRequest, res: HttpResponse, context: HttpContext): Promise<void> {
  const url = requestUrl(req);
  const path = url.pathname;
  if (path === context.hubPath) {
    if (context.hub.closing) {
      throw new HttpRefusal("shutting_down", "the hub is shutting down", {
        cors: false,
        headers: { "Retry-After": "1" },
      });
    }
    switch (req.method) {
      case "GET":
      case "QUERY":
        return subscribeRoute(req, res, url, context);
      case "POST":
        return publishRoute(req, res, context);
      case "OPTIONS":
        writeHead(res, 204, {
          ...preflightHeaders(req.headers.origin, context.options.corsOrigins),
          Allow: HUB_METHODS,
        });
        res.end();
        return;
      default:
        throw new HttpRefusal("method_not_allowed", `${req.method} is not supported on the hub`, {
          cors: false,
          headers: { Allow: HUB_METHODS },
        });
    }
  }
  if (context.hub.subscriptions !== undefined && path.startsWith(context.subscriptionsPath)) {
    const segments = parseSubscriptionsPath(path, context.hubPath);
    if (segments !== undefined) {
      if (req.method === "OPTIONS") {
        writeHead(res, 204, {
          ...preflightHeaders(req.headers.origin, context.options.corsOrigins),
          Allow: "GET, OPTIONS",
        });
        res.end();
        return;
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        throw new HttpRefusal("method_not_allowed", "the subscription API is read-only", {
          cors: false,
          headers: { Allow: "GET, OPTIONS" },
        });
      }
      return subscriptionsRoute(req, res, url, segments, context);
    }
  }
  if (path === context.metadataPath && (req.method === "GET" || req.method === "HEAD")) {
    metadataRoute(res, context);
    return;
  }
  if (isHealthPath(path) && (req.method === "GET" || req.method === "HEAD")) {
    healthRoute(path, res, context.hub);
    return;
  }
  if (path === METRICS_PATH && context.options.metrics !== undefined && req.method === "GET") {
    context.options.metrics(res);
    return;
  }
  const ui = context.options.ui;
  if (ui !== undefined) {
    const uiPath = uiPathOf(context.hubPath);
    if (path === uiPath || path.startsWith(`${uiPath}/`)) return uiRoute(req, res, url, ui, context);
    // In development mode the hub's root leads to its page.
    if (ui.dev && path === "/" && (req.method === "GET" || req.method === "HEAD")) {
      writeHead(res, 302, { Location: `${uiPath}/`, "Content-Length": 0 });
      res.end();
      return;
    }
  }
  throw new HttpRefusal("not_found", `nothing is served at ${path}`, { cors: false });
}
