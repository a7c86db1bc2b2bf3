/**
 * An explicit list of trusted origins. Entries are origins (`https://app.example.com`) or an
 * origin whose port is `*` (`http://localhost:*`, handy in development). There is no `*` for
 * every origin: a credentialed endpoint must never reflect arbitrary origins, or any site a user
 * visits could read that user's private updates (draft, "Subscription").
 */
export class OriginAllowlist {
  readonly entries: readonly string[];
  readonly #exact = new Set<string>();
  readonly #anyPort: string[] = [];

  constructor(entries: readonly string[]) {
    this.entries = entries;
    for (const entry of entries) {
      if (entry === "*") {
        throw new Error(
          "an origin allowlist cannot contain *: list the origins (http://localhost:* is allowed)",
        );
      }
      if (entry.endsWith(":*")) {
        const base = parseOrigin(entry.slice(0, -2), entry);
        this.#anyPort.push(`${base.protocol}//${base.hostname}`);
      } else {
        this.#exact.add(parseOrigin(entry, entry).origin);
      }
    }
  }

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

const EXPOSED = "Link, Mercure-Last-Event-ID, Last-Event-ID, WWW-Authenticate, Content-Type, ETag";

/** Headers for a response to an allowed cross-origin request (none for others). */
export function corsHeaders(origin: string | undefined, allowlist: OriginAllowlist): Record<string, string> {
  if (!allowlist.allows(origin)) return {};
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Expose-Headers": EXPOSED,
    Vary: "Origin",
  };
}

export function preflightHeaders(
  origin: string | undefined,
  allowlist: OriginAllowlist,
): Record<string, string> {
  if (!allowlist.allows(origin)) return { Vary: "Origin" };
  return {
    ...corsHeaders(origin, allowlist),
    "Access-Control-Allow-Methods": "GET, POST, QUERY, OPTIONS",
    "Access-Control-Allow-Headers":
      "Authorization, Content-Type, Last-Event-ID, Cache-Control, If-None-Match",
    "Access-Control-Max-Age": "600",
  };
}
