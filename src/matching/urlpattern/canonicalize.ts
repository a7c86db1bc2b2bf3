import { BoundedCache } from "./bounded-cache.ts";
import {
  DEFAULT_OPTIONS,
  type EncodingCallback,
  PatternSyntaxError,
  parsePatternString,
} from "./pattern-parser.ts";

/**
 * The standard's encoding callbacks ("canonicalize a protocol", "… a hostname", "… a pathname",
 * https://urlpattern.spec.whatwg.org/#canon-encoding-callbacks), which turn the fixed text of a
 * pattern into the form the URL parser gives topics: lowercase schemes and hosts, punycode,
 * percent-encoding, resolved dot segments.
 *
 * They are defined on top of the URL parser with component-specific quirks, so rather than
 * re-implement them (and drift from Node), the fixed text is handed to the native `URLPattern` as a
 * pattern made only of that text, and read back. Native URLPattern construction never runs a
 * regular expression, so this is safe whatever the text. Text the callbacks provably leave alone
 * skips the round trip, and results are cached: the same few pieces ("/books", "example.com")
 * recur across subscriptions.
 */
export type CanonicalComponent =
  | "protocol"
  | "username"
  | "password"
  | "hostname"
  | "ipv6-hostname"
  | "port"
  | "pathname"
  | "opaque-pathname"
  | "search"
  | "hash";

/** Text each callback returns unchanged: no case folding, percent-encoding or path resolution applies. */
const UNCHANGED: Readonly<Record<CanonicalComponent, RegExp>> = {
  protocol: /^[a-z]*$/,
  username: /^[\w.~-]*$/,
  password: /^[\w.~-]*$/,
  // Letters only in labels: no IPv4 number, no IDNA mapping ("xn--" labels are excluded below).
  hostname: /^[a-z.-]*$/,
  "ipv6-hostname": /^[0-9a-f:[\]]*$/,
  port: /^[1-9][0-9]{0,3}$/,
  // No "." (dot segments) and nothing percent-encoded.
  pathname: /^[\w/~-]*$/,
  "opaque-pathname": /^[\w~-]*$/,
  search: /^[\w.~=&-]*$/,
  hash: /^[\w.~=&-]*$/,
};

const cache = new BoundedCache<string, string>(2048);

/** The encoding callback of a component. */
export function encoderFor(component: CanonicalComponent): EncodingCallback {
  return (value) => canonicalize(component, value);
}

export function canonicalize(component: CanonicalComponent, value: string): string {
  if (UNCHANGED[component].test(value) && !(component === "hostname" && value.includes("xn--"))) return value;
  const key = component + "\u0000" + value;
  let canonical = cache.get(key);
  if (canonical === undefined) {
    canonical =
      component === "ipv6-hostname"
        ? canonicalizeIpv6Hostname(value)
        : canonicalizeNatively(component, value);
    cache.set(key, canonical);
  }
  return canonical;
}

/** "canonicalize an IPv6 hostname": ASCII lowercase, hexadecimal digits, colons and brackets only. */
function canonicalizeIpv6Hostname(value: string): string {
  if (!/^[0-9A-Fa-f:[\]]*$/.test(value)) {
    throw new PatternSyntaxError(`${JSON.stringify(value)} is not valid in an IPv6 hostname pattern`);
  }
  return value.toLowerCase();
}

function canonicalizeNatively(
  component: Exclude<CanonicalComponent, "ipv6-hostname">,
  value: string,
): string {
  // Escaping makes the whole value fixed text; "#" and "?" are escaped too so that the
  // dictionary's own delimiter stripping (a leading "?" in search, "#" in hash) cannot apply.
  const escaped = value.replace(/[+*?:{}()\\#]/g, "\\$&");
  let init: URLPatternInit;
  switch (component) {
    // The pathname callback depends on the protocol: any special scheme selects "canonicalize a
    // pathname", any other one "canonicalize an opaque pathname".
    case "pathname":
      init = { protocol: "https", pathname: escaped };
      break;
    case "opaque-pathname":
      init = { protocol: "opaque", pathname: escaped };
      break;
    default:
      init = { [component]: escaped };
  }
  let pattern: URLPattern;
  try {
    pattern = new URLPattern(init);
  } catch (error) {
    throw new PatternSyntaxError(
      `${JSON.stringify(value)} is not valid in a ${component}: ${(error as Error).message}`,
    );
  }
  const serialized = pattern[component === "opaque-pathname" ? "pathname" : component];
  // The serialization of fixed text is its escaped form; parsing it gives the text back.
  return parsePatternString(serialized, DEFAULT_OPTIONS)
    .map((part) => part.value)
    .join("");
}
