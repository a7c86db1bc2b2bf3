import { createHash } from "node:crypto";
import type { Dialect } from "../auth/grants.ts";
import { isMatchType } from "../matching/matcher.ts";
import { EARLIEST } from "../protocol/cursor.ts";
import {
  type AnySubscriptionDocument,
  LEGACY_CONTEXT,
  legacySubscriptionsPath,
  type SubscriptionsRequest,
  subscriptionsPath,
  subscriptionsRequest,
} from "../protocol/subscription-resource.ts";
import { HttpRefusal } from "./refusal.ts";
import { encodeUtf8Header } from "./utf8-header.ts";

/**
 * The subscription API as a resource, without HTTP I/O: what a path asks for and which topic
 * authorizes it, the page it reads, its validators and links, and the documents it answers with.
 * The route (subscriptions-route.ts) authenticates, reads the registry and writes.
 */

/** What a request asks for, and the topic a token must grant `subscribe` on to read it. */
export interface SubscriptionsTarget {
  readonly request: SubscriptionsRequest;
  readonly topic: string;
}

/**
 * Reads the path's segments in the client's dialect, or throws the refusal: a path that fits
 * neither form is `not_found`, an unknown matcher type `matcher_unknown_type`.
 */
export function subscriptionsTarget(
  segments: readonly string[],
  pathname: string,
  hubPath: string,
  legacy: boolean,
): SubscriptionsTarget {
  const request = subscriptionsRequest(segments, legacy);
  if (request === undefined) throw new HttpRefusal("not_found", `nothing is served at ${pathname}`);
  if (!legacy && request.kind !== "all" && !isMatchType(request.matchType)) {
    throw new HttpRefusal(
      "matcher_unknown_type",
      `${request.matchType} is not a matcher type: use exact or urlpattern`,
    );
  }
  return { request, topic: requestTopic(hubPath, request, legacy) };
}

/**
 * The request path in the canonical form subscription events use, as a topic to authorize: one
 * matcher in a token then covers both the events and the API.
 */
function requestTopic(hubPath: string, request: SubscriptionsRequest, legacy: boolean): string {
  if (request.kind === "all") return subscriptionsPath(hubPath);
  const subscriber = request.kind === "one" ? request.subscriber : undefined;
  return legacy
    ? legacySubscriptionsPath(hubPath, request.match, subscriber)
    : subscriptionsPath(hubPath, request.matchType, request.match, subscriber);
}

/** Which subscriptions a list reads: of one matcher, or every one of the client's dialect. */
export function pageScope(
  request: SubscriptionsRequest,
  legacy: boolean,
): Dialect | { matchType: string; match: string } {
  if (request.kind === "matcher") return { matchType: request.matchType, match: request.match };
  return legacy ? "legacy" : "modern";
}

/**
 * The `rel="mercure"` Link, carrying the id of the last dispatched event: a client that lists,
 * then subscribes with `last_event_id` set to it, misses no change in between. The cursor goes
 * as its UTF-8 bytes, as in Mercure-Last-Event-ID; one that no header can carry is given as
 * `earliest`: subscribing from there misses nothing.
 */
export function mercureLink(hubUrl: string, cursor: string, legacy: boolean): string {
  const link = (linkCursor: string) =>
    legacy
      ? `<${hubUrl}>; rel="mercure"; last-event-id=${quoted(linkCursor)}`
      : `<${hubUrl}>; rel="mercure"; last-event-id=${quoted(linkCursor)}; type="mercure"; content-type="application/json"`;
  return encodeUtf8Header(link(cursor)) ?? link(EARLIEST);
}

/** The `rel="next"` Link to the page after position `next`, keeping an explicit `limit`. */
export function nextPageLink(url: URL, hubUrl: string, next: number, limit: number): string {
  const target = new URL(url.pathname, hubUrl);
  target.searchParams.set("after", String(next));
  if (url.searchParams.has("limit")) target.searchParams.set("limit", String(limit));
  return `<${target.pathname}${target.search}>; rel="next"`;
}

/** `?after=` from a rel="next" link: a position; undefined for the first page, null when unreadable. */
export function pagePosition(url: URL): number | undefined | null {
  const after = url.searchParams.get("after");
  if (after === null) return undefined;
  if (!/^\d{1,15}$/.test(after)) return null;
  return Number(after);
}

/** `?limit=` within 1..max; the maximum otherwise. */
export function pageLimit(url: URL, maximum: number): number {
  const requested = Number(url.searchParams.get("limit"));
  return Number.isSafeInteger(requested) && requested > 0 ? Math.min(requested, maximum) : maximum;
}

/**
 * A strong entity tag naming the list's state (see SubscriptionRegistry.version); versions that
 * cannot sit in one (quotes, spaces) are hashed.
 */
export function entityTag(version: string): string {
  if (/^[\x21\x23-\x7E]+$/.test(version)) return `"${version}"`;
  return `"sha256-${createHash("sha256").update(version).digest("base64url")}"`;
}

/**
 * Whether If-None-Match names the current entity tag. The comparison is weak (RFC 9110, section
 * 13.1.2): `W/"x"` matches `"x"`, and `*` matches any current representation.
 */
export function matchesNoneMatch(condition: string | undefined, current: string): boolean {
  if (condition === undefined) return false;
  return (
    condition.trim() === "*" ||
    condition.split(",").some((tag) => {
      const trimmed = tag.trim();
      return (trimmed.startsWith("W/") ? trimmed.slice(2) : trimmed) === current;
    })
  );
}

/** A document and its media type: the old hub served JSON-LD. */
export interface Representation {
  readonly mediaType: "application/json" | "application/ld+json";
  readonly body: unknown;
}

/** One subscription; the legacy document also carries the cursor. */
export function subscriptionRepresentation(
  document: AnySubscriptionDocument,
  cursor: string,
  legacy: boolean,
): Representation {
  return legacy
    ? { mediaType: "application/ld+json", body: { ...document, lastEventID: cursor } }
    : { mediaType: "application/json", body: document };
}

/** A page of subscriptions; `id` is the request's path and query. */
export function subscriptionsRepresentation(
  id: string,
  subscriptions: readonly AnySubscriptionDocument[],
  cursor: string,
  legacy: boolean,
): Representation {
  return legacy
    ? {
        mediaType: "application/ld+json",
        body: { "@context": LEGACY_CONTEXT, id, type: "Subscriptions", lastEventID: cursor, subscriptions },
      }
    : { mediaType: "application/json", body: { id, type: "subscriptions", subscriptions } };
}

/** An RFC 9110 quoted-string (RFC 8288 link parameters use it): `"` and `\` escaped. */
function quoted(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}
