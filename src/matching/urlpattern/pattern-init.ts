import type { ComponentStrings } from "./constructor-parser.ts";
import { escapePatternString } from "./pattern-parser.ts";

/** The eight component pattern strings of a URL pattern, before canonicalization. */
export type ComponentPatterns = Required<ComponentStrings>;

const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  ftp: "21",
  http: "80",
  https: "443",
  ws: "80",
  wss: "443",
};

/**
 * The URLPattern constructor's handling of a parsed constructor string with a base URL: "process
 * a URLPatternInit" with type "pattern" (https://urlpattern.spec.whatwg.org/#process-a-urlpatterninit),
 * then the wildcard default and the default-port rule of "initialize".
 *
 * Components written in the pattern are kept raw (their fixed text is canonicalized when they are
 * compiled). A component left out inherits the base URL's value (escaped, so it is fixed text) when
 * no component before it was written: `/books/:id` keeps the hub's protocol, host and port.
 * Username and password are never inherited by patterns. A relative pathname is resolved against
 * the base URL's directory. Anything still missing is a wildcard.
 */
export function processPatternInit(init: ComponentStrings, baseUrl: string): ComponentPatterns {
  const base = new URL(baseUrl);
  const result: ComponentStrings = {};
  const has = (...names: (keyof ComponentStrings)[]) => names.some((name) => init[name] !== undefined);

  if (!has("protocol")) result.protocol = escapePatternString(base.protocol.slice(0, -1));
  if (!has("protocol", "hostname")) result.hostname = escapePatternString(base.hostname);
  if (!has("protocol", "hostname", "port")) result.port = base.port;
  if (!has("protocol", "hostname", "port", "pathname")) result.pathname = escapePatternString(base.pathname);
  if (!has("protocol", "hostname", "port", "pathname", "search")) {
    result.search = escapePatternString(base.search.slice(1));
  }
  if (!has("protocol", "hostname", "port", "pathname", "search", "hash")) {
    result.hash = escapePatternString(base.hash.slice(1));
  }

  // "process protocol/search/hash for init" strip one delimiter; the others keep the value.
  if (init.protocol !== undefined)
    result.protocol = init.protocol.endsWith(":") ? init.protocol.slice(0, -1) : init.protocol;
  if (init.username !== undefined) result.username = init.username;
  if (init.password !== undefined) result.password = init.password;
  if (init.hostname !== undefined) result.hostname = init.hostname;
  if (init.port !== undefined) result.port = init.port;
  if (init.pathname !== undefined) {
    let pathname = init.pathname;
    if (!hasOpaquePath(base) && !isAbsolutePathname(pathname)) {
      const basePath = escapePatternString(base.pathname);
      const slash = basePath.lastIndexOf("/");
      if (slash !== -1) pathname = basePath.slice(0, slash + 1) + pathname;
    }
    result.pathname = pathname;
  }
  if (init.search !== undefined)
    result.search = init.search.startsWith("?") ? init.search.slice(1) : init.search;
  if (init.hash !== undefined) result.hash = init.hash.startsWith("#") ? init.hash.slice(1) : init.hash;

  const patterns: ComponentPatterns = {
    protocol: result.protocol ?? "*",
    username: result.username ?? "*",
    password: result.password ?? "*",
    hostname: result.hostname ?? "*",
    port: result.port ?? "*",
    pathname: result.pathname ?? "*",
    search: result.search ?? "*",
    hash: result.hash ?? "*",
  };
  // The raw protocol and port strings are compared, as the standard does ("https" and "443").
  if (Object.hasOwn(DEFAULT_PORTS, patterns.protocol) && DEFAULT_PORTS[patterns.protocol] === patterns.port) {
    patterns.port = "";
  }
  return patterns;
}

/** "is an absolute pathname" for patterns: "/…", or "/" escaped or opening a group. */
function isAbsolutePathname(pathname: string): boolean {
  return pathname.startsWith("/") || pathname.startsWith("\\/") || pathname.startsWith("{/");
}

/** Whether the URL has an opaque path (`mailto:x`), which relative pathnames do not resolve against. */
function hasOpaquePath(url: URL): boolean {
  return !url.pathname.startsWith("/") && !url.href.slice(url.protocol.length).startsWith("//");
}
