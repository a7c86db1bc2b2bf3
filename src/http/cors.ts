/**
 * An explicit list of trusted origins. Entries are origins (`https://app.example.com`) or an
 * origin whose port is `*` (`http://localhost:*`, handy in development). A credentialed answer
 * never goes to an origin off the list: reflecting arbitrary origins with credentials would let
 * any site a user visits read that user's private updates (draft, "Subscription").
 *
 * A CORS list may also hold `*` (`anyOrigin`, the old hub's tutorials use it): every other origin
 * then gets `Access-Control-Allow-Origin: *` without credentials, so browsers send no cookie and
 * only anonymous or bearer-token requests work from there. A list that guards cookie-authenticated
 * publishing (CSRF) must refuse `*`, and does unless `allowAnyOrigin` is set.
 */
export class OriginAllowlist {
  readonly entries: readonly string[];
  /** `*` was listed: any origin, without credentials. */
  readonly anyOrigin: boolean;
  readonly #exact = new Set<string>();
  readonly #anyPort: string[] = [];

  constructor(entries: readonly string[], options: { allowAnyOrigin?: boolean } = {}) {
    this.entries = entries;
    let anyOrigin = false;
    for (const entry of entries) {
      if (entry === "*") {
        if (options.allowAnyOrigin !== true) {
          throw new Error(
            "* (any origin) is not allowed in this list: it decides which sites may act with a user's cookie, " +
              "so * would let any site publish as that user (cross-site request forgery); list the origins " +
              "(http://localhost:* is allowed)",
          );
        }
        anyOrigin = true;
      } else if (entry.endsWith(":*")) {
        const base = parseOrigin(entry.slice(0, -2), entry);
        this.#anyPort.push(`${base.protocol}//${base.hostname}`);
      } else {
        this.#exact.add(parseOrigin(entry, entry).origin);
      }
    }
    this.anyOrigin = anyOrigin;
  }

  /** Whether `origin` is listed, so it may send credentials; `*` does not count. */
  allows(origin: string | undefined): origin is string {
    if (origin === undefined || origin === "null") return false;
    if (this.#exact.has(origin)) return true;
    if (this.#anyPort.length === 0) return false;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.origin !== origin) return false; // paths or credentials are not origins
    return this.#anyPort.includes(`${url.protocol}//${url.hostname}`);
  }
}

/**
 * Parses one allowlist entry. A `*` in the host (`https://*.example.com`) is refused: the URL
 * parser accepts it as a literal host name that no browser ever sends, so the entry would
 * silently match nothing while its author believes every subdomain is allowed.
 */
function parseOrigin(text: string, entry: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${entry} is not an origin (scheme://host[:port])`);
  }
  if (url.origin === "null") throw new Error(`${entry} is not an origin (scheme://host[:port])`);
  if (url.hostname.includes("*")) {
    throw new Error(
      `${entry}: wildcard host names are not supported; list each origin (only the port may be *)`,
    );
  }
  return url;
}

/**
 * What a script on another origin may read. Mercure-Last-Event-ID is required (draft, since
 * September 2026): a fetch-based client compares it with the cursor it sent to detect a gap.
 * Last-Event-ID is the same anchor for legacy clients; Link carries the subscription API's cursor;
 * X-Request-Id names the request in the hub's logs (for a bug report).
 */
const EXPOSED =
  "Link, Mercure-Last-Event-ID, Last-Event-ID, WWW-Authenticate, Content-Type, ETag, X-Request-Id, Quicksilver-Matchers";

/**
 * Headers for a response to a cross-origin request: the origin and credentials for a listed
 * origin, `*` without credentials for another when the list holds `*`, none otherwise.
 */
export function corsHeaders(origin: string | undefined, allowlist: OriginAllowlist): Record<string, string> {
  if (allowlist.allows(origin)) {
    return {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Credentials": "true",
      "Access-Control-Expose-Headers": EXPOSED,
      Vary: "Origin",
    };
  }
  if (origin === undefined || !allowlist.anyOrigin) return {};
  // No Allow-Credentials: with `*`, browsers withhold the response of a credentialed request.
  return {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": EXPOSED,
    Vary: "Origin",
  };
}

export function preflightHeaders(
  origin: string | undefined,
  allowlist: OriginAllowlist,
): Record<string, string> {
  const cors = corsHeaders(origin, allowlist);
  if (cors["Access-Control-Allow-Origin"] === undefined) return { Vary: "Origin" };
  return {
    ...cors,
    "Access-Control-Allow-Methods": "GET, POST, QUERY, OPTIONS",
    "Access-Control-Allow-Headers":
      "Authorization, Content-Type, Last-Event-ID, Cache-Control, If-None-Match",
    "Access-Control-Max-Age": "600",
  };
}
