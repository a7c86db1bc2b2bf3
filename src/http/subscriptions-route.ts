import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { canRead } from "../auth/grants.ts";
import { isMatchType } from "../matching/matcher.ts";
import { EARLIEST } from "../protocol/cursor.ts";
import {
  LEGACY_CONTEXT,
  legacySubscriptionsPath,
  type SubscriptionsRequest,
  subscriptionsPath,
  subscriptionsRequest,
} from "../protocol/subscription-resource.ts";
import {
  authenticate,
  insufficientScope,
  isLegacyPresentation,
  missingToken,
  sendAuthFailure,
} from "./authenticate.ts";
import type { HttpContext } from "./context.ts";
import { corsHeaders } from "./cors.ts";
import { sendJson, sendProblem } from "./respond.ts";
import { encodeUtf8Header } from "./utf8-header.ts";

/**
 * GET {hub}/subscriptions[/{match_type}/{match}[/{subscriber}]] (draft, "Subscription API"), and
 * for a legacy client (a legacy token, or one presented the legacy way) the old hub's
 * {hub}/subscriptions[/{topic}[/{subscriber}]] with its JSON-LD documents.
 *
 * Authorized by a `subscribe` grant on the request path taken as a topic, in the canonical form
 * subscription events use, so one matcher in a token covers both the events and the API. The
 * `rel="mercure"` Link carries the id of the last dispatched event: a client that lists, then
 * subscribes with `last_event_id` set to it, misses no change in between.
 */
export async function subscriptionsRoute(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  segments: readonly string[],
  context: HttpContext,
): Promise<void> {
  const { hub, options } = context;
  const cors = corsHeaders(req.headers.origin, options.corsOrigins);
  const registry = hub.subscriptions!;

  const auth = await authenticate(req, "subscriber", context);
  if (auth.kind === "refused") {
    sendAuthFailure(res, auth.failure, cors);
    return;
  }
  if (auth.kind === "anonymous") {
    const failure = missingToken(context.metadataUrl, "the subscription API needs an access token");
    sendAuthFailure(res, failure, cors);
    return;
  }
  const legacy = auth.grants.dialect === "legacy" || isLegacyPresentation(auth.via);
  const request = subscriptionsRequest(segments, legacy);
  if (request === undefined) {
    sendProblem(res, "not_found", `nothing is served at ${url.pathname}`, cors);
    return;
  }
  if (!legacy && request.kind !== "all" && !isMatchType(request.matchType)) {
    sendProblem(
      res,
      "matcher_unknown_type",
      `${request.matchType} is not a matcher type: use exact or urlpattern`,
      cors,
    );
    return;
  }
  const topic = requestTopic(context.hubPath, request, legacy);
  if (!canRead(auth.grants, [topic])) {
    const failure = insufficientScope(context.metadataUrl, `the token does not grant subscribe on ${topic}`);
    sendAuthFailure(res, failure, cors);
    return;
  }

  const cursor = hub.lastDispatchedId ?? EARLIEST;
  const mercureLink = (linkCursor: string) =>
    legacy
      ? `<${options.hubUrl}>; rel="mercure"; last-event-id=${quoted(linkCursor)}`
      : `<${options.hubUrl}>; rel="mercure"; last-event-id=${quoted(linkCursor)}; type="mercure"; content-type="application/json"`;
  // The cursor's UTF-8 bytes, as in Mercure-Last-Event-ID. One that no header can carry is given
  // as `earliest`: subscribing from there misses nothing.
  const link = encodeUtf8Header(mercureLink(cursor)) ?? mercureLink(EARLIEST);
  // Read in the same synchronous run as the cursor: the list and the cursor describe one moment.
  // The ETag names the list's state, not the cursor (see SubscriptionRegistry.version).
  const headers: Record<string, string> = {
    ...cors,
    Link: link,
    ETag: entityTag(registry.version ?? "earliest"),
    "Cache-Control": "must-revalidate",
  };
  if (request.kind === "one") {
    const document = registry.get(topic);
    if (document === undefined) {
      // No validator on a 404: a conditional request must not turn "not found" into a 304.
      sendProblem(res, "subscription_not_found", `no active subscription at ${topic}`, {
        ...cors,
        Link: link,
      });
      return;
    }
    if (notModified(req, res, headers)) return;
    if (legacy) sendJsonLd(res, { ...document, lastEventID: cursor }, headers);
    else sendJson(res, 200, document, headers);
    return;
  }

  const after = pagePosition(url);
  if (after === null) {
    sendProblem(res, "not_found", 'no such page: take after= from a rel="next" link', {
      ...cors,
      Link: link,
    });
    return;
  }
  if (notModified(req, res, headers)) return;
  const limit = pageLimit(url, options.limits.maxSubscriptionsListed);
  const page = registry.page(
    limit,
    after,
    request.kind === "matcher"
      ? { matchType: request.matchType, match: request.match }
      : legacy
        ? "legacy"
        : "modern",
  );
  if (page.next !== undefined) {
    const next = new URL(url.pathname, options.hubUrl);
    next.searchParams.set("after", String(page.next));
    if (url.searchParams.has("limit")) next.searchParams.set("limit", String(limit));
    headers.Link += `, <${next.pathname}${next.search}>; rel="next"`;
  }
  const id = `${url.pathname}${url.search}`;
  if (legacy) {
    sendJsonLd(
      res,
      {
        "@context": LEGACY_CONTEXT,
        id,
        type: "Subscriptions",
        lastEventID: cursor,
        subscriptions: page.subscriptions,
      },
      headers,
    );
    return;
  }
  sendJson(res, 200, { id, type: "subscriptions", subscriptions: page.subscriptions }, headers);
}

/** The request path in the canonical form subscription events use, as a topic to authorize. */
function requestTopic(hubPath: string, request: SubscriptionsRequest, legacy: boolean): string {
  if (request.kind === "all") return subscriptionsPath(hubPath);
  const subscriber = request.kind === "one" ? request.subscriber : undefined;
  return legacy
    ? legacySubscriptionsPath(hubPath, request.match, subscriber)
    : subscriptionsPath(hubPath, request.matchType, request.match, subscriber);
}

/** The old hub served its subscription documents as JSON-LD. */
function sendJsonLd(res: ServerResponse, body: unknown, headers: Record<string, string>): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(200, { ...headers, "Content-Type": "application/ld+json", "Content-Length": bytes.length });
  res.end(bytes);
}

/**
 * Answers 304 when If-None-Match names the current ETag. The comparison is weak (RFC 9110,
 * section 13.1.2): `W/"x"` matches `"x"`, and `*` matches any current representation.
 */
function notModified(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): boolean {
  const condition = req.headers["if-none-match"];
  if (condition === undefined) return false;
  const current = headers.ETag!;
  const matches =
    condition.trim() === "*" ||
    condition.split(",").some((tag) => {
      const trimmed = tag.trim();
      return (trimmed.startsWith("W/") ? trimmed.slice(2) : trimmed) === current;
    });
  if (!matches) return false;
  res.writeHead(304, headers);
  res.end();
  return true;
}

/** `?after=` from a rel="next" link: a position; undefined for the first page, null when unreadable. */
function pagePosition(url: URL): number | undefined | null {
  const after = url.searchParams.get("after");
  if (after === null) return undefined;
  if (!/^\d{1,15}$/.test(after)) return null;
  return Number(after);
}

/** `?limit=` within 1..max; the maximum otherwise. */
function pageLimit(url: URL, maximum: number): number {
  const requested = Number(url.searchParams.get("limit"));
  return Number.isSafeInteger(requested) && requested > 0 ? Math.min(requested, maximum) : maximum;
}

/** An RFC 9110 quoted-string (RFC 8288 link parameters use it): `"` and `\` escaped. */
function quoted(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** A strong entity tag from the cursor; ids that cannot sit in one (quotes, spaces) are hashed. */
function entityTag(cursor: string): string {
  if (/^[\x21\x23-\x7E]+$/.test(cursor)) return `"${cursor}"`;
  return `"sha256-${createHash("sha256").update(cursor).digest("base64url")}"`;
}
