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

export type SubscriptionsRequest =
  | { readonly kind: "all" }
  | { readonly kind: "matcher"; readonly matchType: string; readonly match: string }
  | { readonly kind: "one"; readonly matchType: string; readonly match: string; readonly subscriber: string };

/**
 * Reads an API path below `{hubPath}/subscriptions`; undefined when the path is not one of the
 * three shapes (or a segment is not valid percent-encoding).
 */
export function parseSubscriptionsPath(path: string, hubPath: string): SubscriptionsRequest | undefined {
  const base = subscriptionsPath(hubPath);
  if (path === base) return { kind: "all" };
  if (!path.startsWith(`${base}/`)) return undefined;
  const segments = path.slice(base.length + 1).split("/");
  if (segments.length !== 2 && segments.length !== 3) return undefined;
  let decoded: string[];
  try {
    decoded = segments.map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
  const [matchType, match, subscriber] = decoded as [string, string, string | undefined];
  if (matchType === "" || match === "" || subscriber === "") return undefined;
  return subscriber === undefined
    ? { kind: "matcher", matchType, match }
    : { kind: "one", matchType, match, subscriber };
}
