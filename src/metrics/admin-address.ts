import { UsageError } from "../server/usage-error.ts";

/**
 * `--metrics-listen`: `host:port`, `:port` or `[v6]:port`. An empty host is loopback, not every
 * interface: the admin listener serves what the public should not see, so exposing it is asked
 * for by name (`0.0.0.0:9090`).
 */
export function parseAdminAddress(value: string, name: string): { host: string; port: number } {
  const colon = value.lastIndexOf(":");
  const portText = colon === -1 ? "" : value.slice(colon + 1);
  const port = Number(portText);
  if (portText === "" || !/^\d+$/.test(portText) || port > 65535) {
    throw new UsageError(`${name} must be host:port (e.g. 127.0.0.1:9090 or :9090), got ${value}`);
  }
  const host = value.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host: host === "" ? "127.0.0.1" : host, port };
}
