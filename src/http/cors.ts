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
        const base = new URL(entry.slice(0, -2));
        this.#anyPort.push(`${base.protocol}//${base.hostname}`);
      } else {
        const origin = new URL(entry).origin;
        if (origin === "null") throw new Error(`${entry} is not an origin (scheme://host[:port])`);
        this.#exact.add(origin);
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

const EXPOSED = "Link, Mercure-Last-Event-ID, Last-Event-ID, WWW-Authenticate, Content-Type";

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
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Last-Event-ID, Cache-Control",
    "Access-Control-Max-Age": "600",
  };
}
