/**
 * Discovery (the draft's section of that name): a resource tells its clients where its hub is with
 * a `Link` header, `<hubUrl>; rel="mercure"`, and may name the topic to subscribe to, its canonical
 * URL, with `<topic>; rel="self"`. The framework middleware and hooks (express.ts, fastify.ts,
 * hono.ts) add what these functions build.
 */
import { UsageError } from "../server/usage-error.ts";

/** What the discovery `Link` header says. */
export interface DiscoveryLinkOptions {
  /** The hub URL, as subscribers reach it. */
  readonly hubUrl: string;
  /**
   * The canonical URL of the topic the response is about, when it has one: sent as
   * `rel="self"`. Called per request with its path and query; undefined sends no `self` link.
   */
  readonly topic?: (url: string) => string | undefined;
}

/**
 * The `Link` header values for a response to the request for `url` (a path and query):
 * `<hubUrl>; rel="mercure"`, then `<topic>; rel="self"` when `topic` gives one. Each URL goes
 * through the URL parser, which escapes `<`, `>`, spaces and control characters, so nothing can
 * end the link or the header early. Throws `UsageError` when the hub URL, or the topic, is not an
 * absolute URL (a relative topic resolves against the hub URL).
 */
export function discoveryLinks(options: DiscoveryLinkOptions, url: string): string[] {
  const hub = absoluteUrl(options.hubUrl, undefined, "hubUrl");
  const links = [`<${hub}>; rel="mercure"`];
  const topic = options.topic?.(url);
  if (topic !== undefined) links.push(`<${absoluteUrl(topic, hub, "topic")}>; rel="self"`);
  return links;
}

/** Checks the options once, when a middleware is built, rather than at each request. */
export function checkDiscoveryLinkOptions(options: DiscoveryLinkOptions): void {
  absoluteUrl(options.hubUrl, undefined, "hubUrl");
}

function absoluteUrl(value: string, base: string | undefined, name: string): string {
  try {
    return new URL(value, base).href;
  } catch {
    throw new UsageError(
      `the discovery link's ${name} must be an absolute URL, got ${JSON.stringify(value)}`,
    );
  }
}
