import { canRead } from "../auth/grants.ts";
import { EARLIEST } from "../protocol/cursor.ts";
import { authenticate, insufficientScope, isLegacyPresentation, missingToken } from "./authenticate.ts";
import type { HttpContext } from "./context.ts";
import { corsHeaders } from "./cors.ts";
import type { HttpRequest, HttpResponse } from "./exchange.ts";
import { HttpRefusal } from "./refusal.ts";
import { writeHead } from "./respond.ts";
import {
  entityTag,
  matchesNoneMatch,
  mercureLink,
  nextPageLink,
  pageLimit,
  pagePosition,
  pageScope,
  type Representation,
  subscriptionRepresentation,
  subscriptionsRepresentation,
  subscriptionsTarget,
} from "./subscriptions-resource.ts";

/**
 * GET {hub}/subscriptions[/{match_type}/{match}[/{subscriber}]] (draft, "Subscription API"), and
 * for a legacy client (a legacy token, or one presented the legacy way) the old hub's
 * {hub}/subscriptions[/{topic}[/{subscriber}]] with its JSON-LD documents.
 *
 * Authorized by a `subscribe` grant on the request path taken as a topic (see
 * subscriptions-resource.ts, which decides everything this route writes). Refusals are thrown
 * (HttpRefusal), and answered by the router.
 */
export async function subscriptionsRoute(
  req: HttpRequest,
  res: HttpResponse,
  url: URL,
  segments: readonly string[],
  context: HttpContext,
): Promise<void> {
  const { hub, options } = context;
  const registry = hub.subscriptions!;

  const auth = await authenticate(req, "subscriber", context);
  if (auth.kind === "anonymous") {
    throw missingToken(context.metadataUrl, "the subscription API needs an access token");
  }
  const legacy = auth.grants.dialect === "legacy" || isLegacyPresentation(auth.via);
  const { request, topic } = subscriptionsTarget(segments, url.pathname, context.hubPath, legacy);
  if (!canRead(auth.grants, [topic])) {
    throw insufficientScope(context.metadataUrl, `the token does not grant subscribe on ${topic}`);
  }

  const cursor = hub.lastDispatchedId ?? EARLIEST;
  const link = mercureLink(options.hubUrl, cursor, legacy);
  // Read in the same synchronous run as the cursor: the list and the cursor describe one moment.
  // The ETag names the list's state, not the cursor (see SubscriptionRegistry.version).
  const etag = entityTag(registry.version ?? EARLIEST);
  const headers: Record<string, string> = {
    ...corsHeaders(req.headers.origin, options.corsOrigins),
    Link: link,
    ETag: etag,
    "Cache-Control": "must-revalidate",
  };
  const notModified = matchesNoneMatch(req.headers["if-none-match"], etag);
  if (request.kind === "one") {
    const document = registry.get(topic);
    if (document === undefined) {
      // No validator on a 404: a conditional request must not turn "not found" into a 304.
      throw new HttpRefusal("subscription_not_found", `no active subscription at ${topic}`, {
        headers: { Link: link },
      });
    }
    if (notModified) send304(res, headers);
    else send(res, subscriptionRepresentation(document, cursor, legacy), headers);
    return;
  }

  const after = pagePosition(url);
  if (after === null) {
    throw new HttpRefusal("not_found", 'no such page: take after= from a rel="next" link', {
      headers: { Link: link },
    });
  }
  if (notModified) {
    send304(res, headers);
    return;
  }
  const limit = pageLimit(url, options.limits.maxSubscriptionsListed);
  const page = registry.page(limit, after, pageScope(request, legacy));
  if (page.next !== undefined) headers.Link += `, ${nextPageLink(url, options.hubUrl, page.next, limit)}`;
  send(
    res,
    subscriptionsRepresentation(`${url.pathname}${url.search}`, page.subscriptions, cursor, legacy),
    headers,
  );
}

function send(res: HttpResponse, representation: Representation, headers: Record<string, string>): void {
  const bytes = Buffer.from(JSON.stringify(representation.body));
  writeHead(res, 200, {
    ...headers,
    "Content-Type": representation.mediaType,
    "Content-Length": bytes.length,
  });
  res.end(bytes);
}

function send304(res: HttpResponse, headers: Record<string, string>): void {
  writeHead(res, 304, headers);
  res.end();
}
