/**
 * Active subscriptions as resources (draft, "Active Subscriptions"): their topics, which are also
 * the paths of the subscription API, and their JSON documents.
 */

export interface SubscriptionDocument {
  readonly id: string;
  readonly type: "subscription";
  readonly match_type: string;
  readonly match: string;
  readonly subscriber: string;
  readonly active: boolean;
  readonly payload?: unknown;
}

/** The JSON-LD context of the legacy dialect's subscription documents. */
export const LEGACY_CONTEXT = "https://mercure.rocks/";

/**
 * A subscription made with the legacy `topic=` parameter, in the old hub's JSON-LD shape, at
 * `{hubPath}/subscriptions/{topic}/{subscriber}`.
 */
export interface LegacySubscriptionDocument {
  readonly "@context": typeof LEGACY_CONTEXT;
  readonly id: string;
  readonly type: "Subscription";
  readonly topic: string;
  readonly subscriber: string;
  readonly active: boolean;
  readonly payload?: unknown;
}

export type AnySubscriptionDocument = SubscriptionDocument | LegacySubscriptionDocument;

export function isLegacyDocument(document: AnySubscriptionDocument): document is LegacySubscriptionDocument {
  return document.type === "Subscription";
}

/**
 * RFC 6570 simple expansion of one variable: every character but the unreserved ones
 * (ALPHA / DIGIT / "-" / "." / "_" / "~") is percent-encoded, once, `%` included. Unlike
 * encodeURIComponent it also encodes `!'()*`.
 */
export function expandVariable(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `{hubPath}/subscriptions`, `…/{match_type}/{match}` or `…/{match_type}/{match}/{subscriber}`. */
export function subscriptionsPath(
  hubPath: string,
  matchType?: string,
  match?: string,
  subscriber?: string,
): string {
  let path = `${hubPath === "/" ? "" : hubPath}/subscriptions`;
  if (matchType === undefined || match === undefined) return path;
  path += `/${expandVariable(matchType)}/${expandVariable(match)}`;
  return subscriber === undefined ? path : `${path}/${expandVariable(subscriber)}`;
}

/** `{hubPath}/subscriptions`, `…/{topic}` or `…/{topic}/{subscriber}`: the legacy dialect's paths. */
export function legacySubscriptionsPath(hubPath: string, topic?: string, subscriber?: string): string {
  let path = subscriptionsPath(hubPath);
  if (topic === undefined) return path;
  path += `/${expandVariable(topic)}`;
  return subscriber === undefined ? path : `${path}/${expandVariable(subscriber)}`;
}

export type SubscriptionsRequest =
  | { readonly kind: "all" }
  | { readonly kind: "matcher"; readonly matchType: string; readonly match: string }
  | { readonly kind: "one"; readonly matchType: string; readonly match: string; readonly subscriber: string };

/**
 * The decoded segments of an API path below `{hubPath}/subscriptions` (none for the collection
 * itself); undefined when the path is not below it, has more than three segments, or a segment
 * is empty or not valid percent-encoding.
 */
export function parseSubscriptionsPath(path: string, hubPath: string): readonly string[] | undefined {
  const base = subscriptionsPath(hubPath);
  if (path === base) return [];
  if (!path.startsWith(`${base}/`)) return undefined;
  const segments = path.slice(base.length + 1).split("/");
  if (segments.length > 3) return undefined;
  try {
    const decoded = segments.map((segment) => decodeURIComponent(segment));
    return decoded.includes("") ? undefined : decoded;
  } catch {
    return undefined;
  }
}

/**
 * What the segments ask for. The draft's paths are `/{match_type}/{match}[/{subscriber}]`; the
 * legacy dialect's are `/{topic}[/{subscriber}]`, read here as matcher type `topic`. Undefined
 * when the number of segments fits neither.
 */
export function subscriptionsRequest(
  segments: readonly string[],
  legacy: boolean,
): SubscriptionsRequest | undefined {
  if (segments.length === 0) return { kind: "all" };
  const [first, second, third] = segments as [string, string | undefined, string | undefined];
  if (legacy) {
    if (third !== undefined) return undefined;
    return second === undefined
      ? { kind: "matcher", matchType: "topic", match: first }
      : { kind: "one", matchType: "topic", match: first, subscriber: second };
  }
  if (second === undefined) return undefined;
  return third === undefined
    ? { kind: "matcher", matchType: first, match: second }
    : { kind: "one", matchType: first, match: second, subscriber: third };
}
