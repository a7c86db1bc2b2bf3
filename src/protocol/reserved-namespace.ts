/**
 * The hub's reserved namespace: its own path and everything below it, where it publishes
 * subscription events. A publisher must not address it, or it could forge those events.
 *
 * The test resolves the topic against the hub URL with the WHATWG URL parser (which removes dot
 * segments, including `%2e` ones), decodes percent-encoded unreserved characters and compares
 * paths, whatever the scheme or host: a raw prefix test would let
 * `https://hub.example/.well-known/mercure/subscriptions/...` or `/.well-known/%6Dercure/...`
 * through (draft, "Reserved Hub Namespace").
 */
const ENCODED_UNRESERVED = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DdEe]|5[Ff]|7[Ee])/g;

function decodeUnreserved(path: string): string {
  return path.replace(ENCODED_UNRESERVED, (encoded) =>
    String.fromCharCode(Number.parseInt(encoded.slice(1), 16)),
  );
}

function normalizedPath(topic: string, base: string): string | undefined {
  let url: URL;
  try {
    url = new URL(topic, base);
  } catch {
    return undefined; // not a URL reference: it cannot name a hub path
  }
  const decoded = decodeUnreserved(url.pathname);
  if (decoded === url.pathname) return decoded;
  // Decoding can reveal new dot segments (`%2E` was already handled, but keep the two in step).
  try {
    return new URL(decoded, "http://h").pathname;
  } catch {
    return decoded;
  }
}

export function isReservedTopic(topic: string, hubUrl: string, hubPath: string): boolean {
  const path = normalizedPath(topic, hubUrl);
  if (path === undefined) return false;
  return path === hubPath || path.startsWith(hubPath.endsWith("/") ? hubPath : `${hubPath}/`);
}
