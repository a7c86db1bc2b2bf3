import type { HttpContext } from "./context.ts";
import { devTokenRoute } from "./dev-token-route.ts";
import type { HttpRequest, HttpResponse } from "./exchange.ts";
import type { UiOptions } from "./options.ts";
import { HttpRefusal } from "./refusal.ts";
import { writeHead } from "./respond.ts";
import { matchesNoneMatch } from "./subscriptions-resource.ts";
import { uiStatusRoute } from "./ui-status-route.ts";

const READ_METHODS = "GET, HEAD";

/** Where the page is served: `{hub path}/ui`, or `/ui` for a hub at the root. */
export function uiPathOf(hubPath: string): string {
  return hubPath === "/" ? "/ui" : `${hubPath}/ui`;
}

/** Headers every answer of the page carries: no sniffing, no referrer leaving it. */
const COMMON_HEADERS = {
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
} as const;

/**
 * The page's Content-Security-Policy: its own scripts, styles and images only, nothing inline,
 * no framing, no forms; connections to its own origin and to the hub's public one (the same,
 * unless a proxy serves the hub under another name).
 */
export function uiContentSecurityPolicy(hubUrl: string): string {
  const origin = new URL(hubUrl).origin;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${origin}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Everything under `{hub path}/ui`: the page's files, its status and, in development mode, its
 * tokens. A file is found by exact name among those read at startup (ui-files.ts); the request's
 * path must be the one the URL parser made of it, so that dot segments, backslashes and encoded
 * slashes are not found rather than rewritten.
 */
export async function uiRoute(
  req: HttpRequest,
  res: HttpResponse,
  url: URL,
  ui: UiOptions,
  context: HttpContext,
): Promise<void> {
  const uiPath = uiPathOf(context.hubPath);
  if (url.pathname === uiPath) {
    if (req.method !== "GET" && req.method !== "HEAD") throw notAllowed(req, READ_METHODS);
    writeHead(res, 302, { ...COMMON_HEADERS, Location: `${uiPath}/`, "Content-Length": 0 });
    res.end();
    return;
  }
  if (rawPath(req) !== url.pathname) throw notFound(url);
  const name = url.pathname.slice(uiPath.length + 1);
  if (name === "dev-token" && ui.devTokens !== undefined) {
    if (req.method !== "POST") throw notAllowed(req, "POST");
    return devTokenRoute(req, res, ui.devTokens, context);
  }
  if (name === "status") {
    if (req.method !== "GET" && req.method !== "HEAD") throw notAllowed(req, READ_METHODS);
    return uiStatusRoute(req, res, ui, context);
  }
  const file = ui.files.get(name === "" ? "index.html" : name);
  if (file === undefined) throw notFound(url);
  if (req.method !== "GET" && req.method !== "HEAD") throw notAllowed(req, READ_METHODS);
  const headers: Record<string, string | number> = {
    ...COMMON_HEADERS,
    ETag: file.etag,
    "Cache-Control": "no-cache",
  };
  if (file.contentType.startsWith("text/html")) {
    headers["Content-Security-Policy"] = uiContentSecurityPolicy(context.options.hubUrl);
  }
  if (matchesNoneMatch(req.headers["if-none-match"], file.etag)) {
    writeHead(res, 304, headers);
    res.end();
    return;
  }
  writeHead(res, 200, { ...headers, "Content-Type": file.contentType, "Content-Length": file.body.length });
  // node:http sends no body for HEAD, whatever is written: the headers say what GET would.
  res.end(file.body);
}

/** The path of the request target as sent (an absolute-form target without its origin). */
function rawPath(req: HttpRequest): string {
  const target = req.url ?? "/";
  const query = target.indexOf("?");
  const path = query === -1 ? target : target.slice(0, query);
  return path.startsWith("/") ? path : path.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "");
}

function notFound(url: URL): HttpRefusal {
  return new HttpRefusal("not_found", `nothing is served at ${url.pathname}`, { cors: false });
}

function notAllowed(req: HttpRequest, allow: string): HttpRefusal {
  return new HttpRefusal("method_not_allowed", `${req.method} is not supported here`, {
    cors: false,
    headers: { Allow: allow },
  });
}
