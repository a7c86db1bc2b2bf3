import { refusalBand } from "../http/connection-guard.ts";
import { FALLBACK_DESCRIPTOR_LIMIT, reservedDescriptors } from "./descriptor-limit.ts";
import { defaultOf, SOCKETS_BESIDE_STREAMS } from "./option-table.ts";
import { UsageError } from "./usage-error.ts";

/** The socket and stream limits, consistent with each other and with the descriptor limit. */
export interface ConnectionLimits {
  readonly maxSockets: number;
  readonly maxSocketsPerClient: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
}

/** What this needs of the option reader. */
interface IntegerReader {
  integer(flag: string, fallback: number): number;
  /** Undefined when the option was not given. */
  source(flag: string): unknown;
  /** How messages name the option: `--max-sockets` on the command line, `sockets.maxSockets` in code. */
  name(flag: string): string;
  /** Said once at startup. */
  readonly warnings: string[];
}

/** The stream limits' defaults, lowered when the socket limits are lower. */
const STREAMS = defaultOf<number>("max-connections");
const STREAMS_PER_CLIENT = defaultOf<number>("max-connections-per-client");

/**
 * Resolves `max-sockets`, `max-sockets-per-client`, `max-connections` and
 * `max-connections-per-client`. A stream is a socket, so the stream limits are at most the socket
 * limits; each default follows the limits it depends on:
 *
 * - `max-sockets`: as many as the descriptor limit (`ulimit -n`) leaves once descriptors are
 *   reserved for files and the refusal band (sockets over the limit, answered 503) is counted;
 * - `max-connections`: 16384, at most nine tenths of `max-sockets`, so publishers still get in;
 * - `max-connections-per-client`: 1024, at most `max-connections` and `max-sockets-per-client`;
 * - `max-sockets-per-client`: `max-connections-per-client` plus 256, at most `max-sockets`.
 *
 * `descriptors` is the process's descriptor limit, undefined when unknown (the defaults then
 * assume 1024, and an explicit `max-sockets` is not checked against it).
 */
export function resolveConnectionLimits(
  read: IntegerReader,
  descriptors: number | undefined,
): ConnectionLimits {
  const limit = descriptors ?? FALLBACK_DESCRIPTOR_LIMIT;
  const available = limit - reservedDescriptors(limit);
  const maxSockets = read.integer("max-sockets", largestWithin(available));
  const ceiling = maxSockets + refusalBand(maxSockets);
  // An explicit figure is the operator's to choose (a benchmark holding every descriptor does):
  // said at startup, since past the descriptors connections are reset rather than answered.
  if (descriptors !== undefined && ceiling > available) {
    read.warnings.push(
      `${read.name("max-sockets")} ${maxSockets} may hold ${ceiling} sockets (${refusalBand(maxSockets)} past the limit, to answer them), ` +
        `but the process may open ${descriptors} descriptors (ulimit -n) and keeps ${reservedDescriptors(limit)} for files: ` +
        `once they run out, new connections, health checks included, are reset; lower ${read.name("max-sockets")} to ${largestWithin(available)} or raise ulimit -n`,
    );
  }
  const maxConnections = read.integer(
    "max-connections",
    Math.max(1, Math.min(STREAMS, maxSockets - Math.ceil(maxSockets / 10))),
  );
  checkStreamsFit(read, "max-connections", maxConnections, "max-sockets", maxSockets);
  const socketsPerClientAsked =
    read.source("max-sockets-per-client") === undefined
      ? undefined
      : read.integer("max-sockets-per-client", 1);
  const maxConnectionsPerClient = read.integer(
    "max-connections-per-client",
    Math.min(STREAMS_PER_CLIENT, maxConnections, socketsPerClientAsked ?? Number.POSITIVE_INFINITY),
  );
  const maxSocketsPerClient =
    socketsPerClientAsked ?? Math.min(maxSockets, maxConnectionsPerClient + SOCKETS_BESIDE_STREAMS);
  checkStreamsFit(
    read,
    "max-connections-per-client",
    maxConnectionsPerClient,
    "max-sockets-per-client",
    maxSocketsPerClient,
  );
  return { maxSockets, maxSocketsPerClient, maxConnections, maxConnectionsPerClient };
}

/**
 * A stream is a socket: a stream limit above its socket limit is a contradiction when both were
 * given, and refused. When only the stream limit was (as configurations written before the socket
 * limits did), the socket limit bounds the streams too, and the startup says so.
 */
function checkStreamsFit(
  read: IntegerReader,
  streamsFlag: string,
  streams: number,
  socketsFlag: string,
  sockets: number,
): void {
  if (streams <= sockets) return;
  const message = `${read.name(streamsFlag)} ${streams} is more than ${read.name(socketsFlag)} ${sockets}: every stream is a socket`;
  if (read.source(socketsFlag) !== undefined) throw new UsageError(message);
  read.warnings.push(
    `${message}, so at most ${sockets} streams are served; set ${read.name(socketsFlag)} to allow more`,
  );
}

/** The largest `max-sockets` whose refusal band still fits in `available` descriptors. */
function largestWithin(available: number): number {
  let sockets = Math.floor((available * 16) / 17);
  while (sockets > 1 && sockets + refusalBand(sockets) > available) sockets--;
  return Math.max(1, sockets);
}
