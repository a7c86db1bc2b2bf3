import { textToHeader } from "./header-bytes.ts";

/** A matcher parameter as sent: its name (`match`, `match_urlpattern`, legacy `topic`) and value. */
export interface MatcherParameter {
  readonly name: "match" | "match_urlpattern" | "topic";
  readonly value: string;
}

/** `fetch`'s `credentials` (the DOM type is not in every environment's types). */
export type Credentials = "omit" | "same-origin" | "include";

/** The query parameter asking the hub to tell, per event, which matchers it matched. */
export const REPORT_MATCHERS_PARAMETER = "report_matchers";

export interface SubscribeRequestParts {
  readonly matchers: readonly MatcherParameter[];
  readonly dialect: "draft" | "legacy";
  /** A cursor sent as a parameter (`last_event_id`, legacy `lastEventID`): the first connection's. */
  readonly cursorParameter?: string | undefined;
  /** A cursor sent as the `Last-Event-ID` header: a reconnection's. */
  readonly cursorHeader?: string | undefined;
  readonly token?: string | undefined;
  readonly credentials?: Credentials | undefined;
  readonly reportMatchers: boolean;
  /** Above this URL length, the matchers go in a `QUERY` body instead. */
  readonly maxUrlLength: number;
  readonly signal: AbortSignal;
}

/**
 * The URL and `fetch` options of a subscription: a `GET` with every parameter in the query, or,
 * when that URL would be longer than `maxUrlLength` (browsers, proxies and servers cut long
 * URLs), a `QUERY` whose form body holds the matchers. The hub reads the query's parameters, then
 * the body's, so the matchers keep their order either way.
 */
export function buildSubscribeRequest(
  hub: URL,
  parts: SubscribeRequestParts,
): { url: URL; init: RequestInit } {
  const url = new URL(hub);
  if (parts.cursorParameter !== undefined) {
    url.searchParams.append(
      parts.dialect === "legacy" ? "lastEventID" : "last_event_id",
      parts.cursorParameter,
    );
  }
  if (parts.reportMatchers) url.searchParams.append(REPORT_MATCHERS_PARAMETER, "1");
  const withMatchers = new URL(url);
  for (const { name, value } of parts.matchers) withMatchers.searchParams.append(name, value);

  const headers: Record<string, string> = { Accept: "text/event-stream" };
  if (parts.token !== undefined) headers.Authorization = `Bearer ${parts.token}`;
  if (parts.cursorHeader !== undefined) headers["Last-Event-ID"] = textToHeader(parts.cursorHeader);
  const init: RequestInit = { method: "GET", headers, signal: parts.signal };
  if (parts.credentials !== undefined) init.credentials = parts.credentials;
  if (withMatchers.href.length <= parts.maxUrlLength) return { url: withMatchers, init };

  const body = new URLSearchParams();
  for (const { name, value } of parts.matchers) body.append(name, value);
  headers["Content-Type"] = "application/x-www-form-urlencoded";
  return { url, init: { ...init, method: "QUERY", body: body.toString() } };
}
