/**
 * The one place a load generator writes a subscribe request: `quicksilver loadtest`'s
 * subscribers, and the benchmark's (latency probes and churned connects among them), all send
 * heads built here, so that a hub's dialect is honoured everywhere at once.
 */

/**
 * How a hub names the topic a subscriber wants. `draft`: `?match=<topic>`, exact matching as
 * draft-08 spells it (a draft-08 hub refuses `topic=` unless its legacy dialect is on). `legacy`:
 * `?topic=<topic>`, the older Mercure dialect, and the shape Nchan's and the naive hub's
 * locations take too.
 */
export type SubscribeDialect = "draft" | "legacy";

/** The query parameter that carries an exact topic, per dialect. */
const TOPIC_PARAMETER: Readonly<Record<SubscribeDialect, string>> = { draft: "match", legacy: "topic" };

/** Where a hub's subscribers connect: its port and the path of its subscribe URL. */
export interface SubscribeEndpoint {
  readonly port: number;
  readonly path: string;
  /** The Host header (`host:port`); `127.0.0.1:<port>` when not given. */
  readonly authority?: string;
  /** A subscriber's access token, sent as `Authorization: Bearer`; none when not given. */
  readonly token?: string;
}

/** The raw HTTP/1.1 request head (ending in a blank line) that subscribes to `topic` exactly. */
export function subscribeRequest(
  endpoint: SubscribeEndpoint,
  dialect: SubscribeDialect,
  topic: string,
): string {
  return subscribeHead(endpoint, `${TOPIC_PARAMETER[dialect]}=${encodeURIComponent(topic)}`);
}

/** The request head that subscribes to a URL Pattern (draft-08 `match_urlpattern=`). */
export function subscribePatternRequest(endpoint: SubscribeEndpoint, pattern: string): string {
  return subscribeHead(endpoint, `match_urlpattern=${encodeURIComponent(pattern)}`);
}

function subscribeHead({ port, path, authority, token }: SubscribeEndpoint, query: string): string {
  const host = authority ?? `127.0.0.1:${port}`;
  const authorization = token === undefined ? "" : `Authorization: Bearer ${token}\r\n`;
  return `GET ${path}?${query} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\n${authorization}\r\n`;
}
