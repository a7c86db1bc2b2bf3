/**
 * The one place the harness writes a subscribe request: the generators' subscribers (latency
 * probes among them) and the churner's connects all send heads built here, through their
 * Target's subscribeRequest, so that a hub's dialect is honoured everywhere at once.
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

/** Where a hub's subscribers connect: its loopback port and the path of its subscribe URL. */
export interface SubscribeEndpoint {
  readonly port: number;
  readonly path: string;
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

function subscribeHead({ port, path }: SubscribeEndpoint, query: string): string {
  return `GET ${path}?${query} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`;
}
