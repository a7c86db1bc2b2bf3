import { BlockList, isIP } from "node:net";

/**
 * The reverse proxies whose word on the client's address is taken (`trusted-proxies`): IPv4 and
 * IPv6 addresses and CIDR ranges. An IPv4 peer seen as IPv4-mapped IPv6 (`::ffff:10.0.0.1`, as a
 * dual-stack listener reports it) matches the IPv4 entries.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly size: number;

  /** Throws a RangeError naming the first entry that is neither an address nor a CIDR range. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) addEntry(this.#list, entry.trim());
    this.size = entries.length;
  }

  trusts(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    return this.#list.check(address, family === 4 ? "ipv4" : "ipv6");
  }
}

function addEntry(list: BlockList, entry: string): void {
  const slash = entry.indexOf("/");
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) throw new RangeError(`${JSON.stringify(entry)} is not an IP address or CIDR range`);
  const type = family === 4 ? "ipv4" : "ipv6";
  if (slash === -1) {
    list.addAddress(address, type);
    return;
  }
  const bits = entry.slice(slash + 1);
  const prefix = Number(bits);
  if (!/^\d{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) {
    throw new RangeError(
      `${JSON.stringify(entry)}: the prefix length must be 0 to ${family === 4 ? 32 : 128}`,
    );
  }
  list.addSubnet(address, prefix, type);
}

/** Headers as node:http gives them: repeated lines of these two are joined with ", ". */
type ForwardingHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * The client's address: the TCP peer's, unless the peer is a trusted proxy. Then the proxies'
 * record of the hops is walked from the right (the nearest hop first): `Forwarded`'s `for=`
 * (RFC 7239) when present, else `X-Forwarded-For`. Each hop named by a trusted address is
 * stepped over; the first address not trusted is the client. Only what trusted proxies appended
 * is believed: whatever lies left of the first untrusted hop was written by the client.
 *
 * A hop that hides its client (`for=unknown`, an obfuscated `for=_node`, an element without
 * `for`) ends the walk at the proxy that received it. A header that cannot be parsed, or an
 * element that is not an address, gives the TCP peer: never thrown, never believed.
 */
export function clientAddress(peer: string, headers: ForwardingHeaders, trusted: TrustedProxies): string {
  if (trusted.size === 0 || !trusted.trusts(peer)) return peer;
  const forwarded = headerText(headers.forwarded);
  const hops =
    forwarded !== undefined
      ? forwardedFor(forwarded)
      : headerText(headers["x-forwarded-for"])
          ?.split(",")
          .map((hop) => hopAddress(hop.trim()));
  if (hops === undefined) return peer;
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as Hop;
    if (hop === MALFORMED) return peer;
    if (hop === HIDDEN) return client;
    client = hop;
    if (!trusted.trusts(client)) return client;
  }
  // Every hop is a trusted proxy: the leftmost is the nearest thing to a client there is.
  return client;
}

/** A hop that names no address on purpose (`unknown`, an obfuscated identifier). */
const HIDDEN = Symbol("hidden");
/** A hop that is not a node at all. */
const MALFORMED = Symbol("malformed");
type Hop = string | typeof HIDDEN | typeof MALFORMED;

function headerText(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(", ") : value;
}

/** An RFC 7230 token, as the names and bare values of `Forwarded` are. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** An obfuscated node or port (RFC 7239 section 6.3 and 6.3): `_` and letters, digits, `.`, `_`, `-`. */
const OBFUSCATED = /^_[0-9A-Za-z._-]+$/;

/**
 * The `for=` of each element of a `Forwarded` header, in order; undefined when the header does
 * not follow the RFC's grammar (the whole header is then not believed).
 */
function forwardedFor(header: string): Hop[] | undefined {
  const hops: Hop[] = [];
  let hop: Hop = HIDDEN;
  let i = 0;
  const skipSpaces = () => {
    while (header[i] === " " || header[i] === "\t") i++;
  };
  skipSpaces();
  while (i < header.length) {
    // One pair: name=value, the value a token or a quoted string.
    const equals = header.indexOf("=", i);
    if (equals === -1) return undefined;
    const name = header.slice(i, equals).trim().toLowerCase();
    if (!TOKEN.test(name)) return undefined;
    i = equals + 1;
    let value: string;
    if (header[i] === '"') {
      let text = "";
      i++;
      for (;;) {
        if (i >= header.length) return undefined;
        const c = header[i++];
        if (c === '"') break;
        if (c === "\\") {
          if (i >= header.length) return undefined;
          text += header[i++];
        } else text += c;
      }
      value = text;
    } else {
      const end = header.slice(i).search(/[;,]/);
      value = (end === -1 ? header.slice(i) : header.slice(i, i + end)).trim();
      i = end === -1 ? header.length : i + end;
      if (!TOKEN.test(value)) return undefined;
    }
    if (name === "for") hop = forNode(value);
    skipSpaces();
    if (i >= header.length) break;
    const separator = header[i++];
    skipSpaces();
    if (separator === ",") {
      hops.push(hop);
      hop = HIDDEN;
    } else if (separator !== ";") return undefined;
  }
  hops.push(hop);
  return hops;
}

/** A `for=` node: an address, `unknown`, or an obfuscated identifier, each with an optional port. */
function forNode(node: string): Hop {
  if (node.toLowerCase() === "unknown" || OBFUSCATED.test(node)) return HIDDEN;
  return hopAddress(node);
}

/**
 * The address of a hop: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711` or a
 * bare `2001:db8::1` (as X-Forwarded-For writes it). `unknown` is a hidden hop; anything else is
 * malformed.
 */
function hopAddress(node: string): Hop {
  if (node.toLowerCase() === "unknown") return HIDDEN;
  if (isIP(node) !== 0) return node;
  if (node.startsWith("[")) {
    const close = node.indexOf("]");
    const address = node.slice(1, close);
    if (close === -1 || isIP(address) !== 6 || !isPort(node.slice(close + 1))) return MALFORMED;
    return address;
  }
  const colon = node.lastIndexOf(":");
  if (colon === -1) return MALFORMED;
  const address = node.slice(0, colon);
  if (isIP(address) !== 4 || !isPort(node.slice(colon))) return MALFORMED;
  return address;
}

/** Nothing, or `:` and a port number or an obfuscated port. */
function isPort(text: string): boolean {
  return text === "" || /^:\d{1,5}$/.test(text) || (text.startsWith(":") && OBFUSCATED.test(text.slice(1)));
}
