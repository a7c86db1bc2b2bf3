/**
 * Listen addresses: `host:port` (the `--listen` form, and the old hub's `ADDR`) and the Docker
 * image's `SERVER_NAME`, a Caddy site address.
 */
import { UsageError } from "./usage-error.ts";

/** `host:port`, `:port` or `[v6]:port`; an empty host listens on every interface. */
export function parseListen(listen: string, name: string): [string, number] {
  const colon = listen.lastIndexOf(":");
  const host = colon === -1 ? "" : listen.slice(0, colon);
  const portText = colon === -1 ? listen : listen.slice(colon + 1);
  const port = Number(portText);
  if (portText === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${name} must be host:port (e.g. localhost:3000 or :80), got ${listen}`);
  }
  return [host.replace(/^\[(.*)\]$/, "$1") || "0.0.0.0", port];
}

/**
 * A Caddy site address (`:80`, `localhost:3000`, `http://localhost:3000`, `http://:8080`) as a
 * listen address, and whether Caddy would have served HTTPS on it (a host name with a port). A
 * host without a port, port 443 or `https://` asked Caddy for automatic HTTPS: Quicksilver
 * refuses those rather than serve plain HTTP where clients expect TLS. Several addresses are
 * taken only when they all name the same socket.
 */
export function parseServerName(value: string): [string, number, boolean] {
  const addresses = value.split(/[\s,]+/).filter((address) => address !== "");
  const parsed = addresses.map((address) => parseSiteAddress(address, value));
  const first = parsed[0] as [string, number, boolean];
  if (parsed.some(([host, port]) => host !== first[0] || port !== first[1])) {
    throw new UsageError(
      `SERVER_NAME lists ${addresses.length} site addresses (${addresses.join(", ")}) but Quicksilver listens on one: ` +
        "give one, such as :80, and let your reverse proxy route the others to it",
    );
  }
  return [first[0], first[1], parsed.some(([, , tls]) => tls)];
}

function parseSiteAddress(address: string, value: string): [string, number, boolean] {
  const tls = () =>
    new UsageError(
      `SERVER_NAME=${value}: ${address} asks Caddy for automatic HTTPS, but TLS is terminated in front of Quicksilver ` +
        "(by a reverse proxy or load balancer), which serves plain HTTP: set SERVER_NAME to :port (e.g. :80), " +
        "or MERCURE_LISTEN, and serve https:// from the proxy",
    );
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(address);
  const protocol = scheme?.[1]?.toLowerCase();
  if (protocol === "https") throw tls();
  if (protocol !== undefined && protocol !== "http") {
    throw new UsageError(`SERVER_NAME: ${address} has an unsupported scheme; give :port or http://host:port`);
  }
  const rest = address.slice(scheme?.[0].length ?? 0).replace(/\/$/, "");
  const match = /^(\[[^\]/]*\]|[^:[\]/]*)(?::(\d*))?$/.exec(rest);
  if (match === null) {
    throw new UsageError(
      `SERVER_NAME: cannot read ${address} as :port, host:port or http://host:port (paths are not supported; --public-url sets the hub path)`,
    );
  }
  const host = (match[1] ?? "").replace(/^\[(.*)\]$/, "$1");
  if (host.includes("*")) throw tls();
  if (match[2] === undefined || match[2] === "") {
    if (protocol === "http") return [host || "0.0.0.0", 80, false];
    throw tls();
  }
  const port = Number(match[2]);
  if (port > 65535) throw new UsageError(`SERVER_NAME: ${address} has no valid port`);
  if (port === 443 && protocol !== "http") throw tls();
  return [host || "0.0.0.0", port, protocol === undefined && host !== "" && port !== 80];
}
