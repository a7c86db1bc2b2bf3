import { errorFromResponse } from "./errors.ts";

/** Where to subscribe to a resource's updates, as its `Link` header announced it. */
export interface Discovery {
  /** The first hub announced: the one to use. */
  readonly hub: string;
  /** Every hub announced, in order. */
  readonly hubs: readonly string[];
  /** The resource's canonical topic: its `rel="self"` link, when it has one. */
  readonly topic?: string;
}

/** One link of a `Link` header (RFC 8288): its target and parameters, names in lower case. */
export interface ParsedLink {
  readonly target: string;
  readonly params: ReadonlyMap<string, string>;
}

/** What a `Link` header may hold at most before the rest is ignored: it comes from any server. */
export const MAX_LINK_HEADER_LENGTH = 16_384;

/**
 * The Mercure discovery of a response: the `rel="mercure"` links of its `Link` headers (several
 * headers, several links per header, `rel` quoted or not, `rel` lists such as `"mercure self"`),
 * and the `rel="self"` link as the topic. Relative targets are resolved against `response.url`
 * when it has one. Undefined when no hub is announced.
 */
export function discover(
  response: Response | { readonly headers: Headers; readonly url?: string },
): Discovery | undefined {
  const header = response.headers.get("link");
  if (header === null) return undefined;
  const base = "url" in response && response.url !== "" ? response.url : undefined;
  const hubs: string[] = [];
  let topic: string | undefined;
  for (const link of parseLinkHeader(header)) {
    // A link with an anchor is about another resource than this response's.
    if (link.params.has("anchor")) continue;
    const rels = (link.params.get("rel") ?? "").toLowerCase().split(/[ \t]+/);
    const target = resolve(link.target, base);
    if (rels.includes("mercure") && !hubs.includes(target)) hubs.push(target);
    if (rels.includes("self")) topic ??= target;
  }
  const [hub] = hubs;
  if (hub === undefined) return undefined;
  return topic === undefined ? { hub, hubs } : { hub, hubs, topic };
}

/**
 * Fetches `url` and discovers its hub: a `HEAD` first, then a `GET` when the `HEAD` announced no
 * hub (some servers send `Link` only with a body, or refuse `HEAD`). A refusal of the `GET`
 * rejects with its typed error; undefined when the resource announces no hub.
 */
export async function discoverFrom(
  url: string | URL,
  init: Omit<RequestInit, "method" | "body"> & { readonly fetch?: typeof fetch } = {},
): Promise<Discovery | undefined> {
  const { fetch: customFetch, ...requestInit } = init;
  const doFetch = customFetch ?? globalThis.fetch;
  const head = await doFetch(url, { ...requestInit, method: "HEAD" });
  if (head.ok) {
    const found = discover(head);
    if (found !== undefined) return found;
  }
  const response = await doFetch(url, { ...requestInit, method: "GET" });
  if (!response.ok) throw await errorFromResponse(response);
  await response.body?.cancel().catch(() => {});
  return discover(response);
}

/**
 * The links of a `Link` header value (RFC 8288, section 3): `<target>; name=value; name="quoted"`,
 * separated by commas, which may also occur inside targets and quoted values. Of a repeated
 * parameter only the first counts. Unreadable links are skipped, not guessed at.
 */
export function parseLinkHeader(header: string): ParsedLink[] {
  const text = header.length > MAX_LINK_HEADER_LENGTH ? header.slice(0, MAX_LINK_HEADER_LENGTH) : header;
  const links: ParsedLink[] = [];
  let at = 0;
  const skipSpace = () => {
    while (at < text.length && (text[at] === " " || text[at] === "\t")) at++;
  };
  /** Skips to the comma that ends the current link (outside quotes), and past it. */
  const skipLink = () => {
    while (at < text.length && text[at] !== ",") {
      if (text[at] === '"') at = endOfQuoted(text, at);
      else at++;
    }
    at++;
  };
  while (at < text.length) {
    skipSpace();
    if (text[at] === ",") {
      at++;
      continue;
    }
    if (text[at] !== "<") {
      skipLink();
      continue;
    }
    const close = text.indexOf(">", at);
    if (close === -1) break;
    const target = text.slice(at + 1, close).trim();
    at = close + 1;
    const params = new Map<string, string>();
    let readable = true;
    for (;;) {
      skipSpace();
      if (at >= text.length || text[at] === ",") break;
      if (text[at] !== ";") {
        readable = false;
        break;
      }
      at++;
      skipSpace();
      const name = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(text.slice(at))?.[0];
      if (name === undefined) {
        readable = false;
        break;
      }
      at += name.length;
      skipSpace();
      let value = "";
      if (text[at] === "=") {
        at++;
        skipSpace();
        if (text[at] === '"') {
          const end = endOfQuoted(text, at);
          if (end - at < 2 || text[end - 1] !== '"') {
            readable = false;
            break;
          }
          value = text.slice(at + 1, end - 1).replace(/\\(.)/g, "$1");
          at = end;
        } else {
          value = /^[^\s;,]*/.exec(text.slice(at))?.[0] ?? "";
          at += value.length;
        }
      }
      const key = name.toLowerCase();
      if (!params.has(key)) params.set(key, value);
    }
    if (readable) links.push({ target, params });
    else skipLink();
  }
  return links;
}

/** The index just past the quoted string that opens at `start` (or the end of the text). */
function endOfQuoted(text: string, start: number): number {
  let at = start + 1;
  while (at < text.length && text[at] !== '"') at += text[at] === "\\" ? 2 : 1;
  return Math.min(at + 1, text.length);
}

/** `target` against `base`; as written when there is no base or it cannot be resolved. */
function resolve(target: string, base: string | undefined): string {
  try {
    return new URL(target, base).href;
  } catch {
    return target;
  }
}
