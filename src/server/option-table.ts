/**
 * Every hub option, once: its flag, the environment variables that set it, its kind, its default,
 * its meaning and where it goes in `createHubServer`'s options. From this table come the defaults
 * the library applies, the command line's flags, `--help`, the config file's keys and the options
 * table of docs/configuration.md (a test keeps the docs and the effective defaults in step).
 *
 * Pure data: the library front door and the CLI both read it, and it imports nothing at run time.
 */
import type { OptionPath } from "./options.ts";

export type OptionKind = "string" | "boolean" | "integer" | "duration" | "list";

/** An option's value as the library takes it: a duration is a number of milliseconds. */
export type OptionValue = string | number | boolean | readonly string[];

export interface OptionSpec {
  /** The flag, without `--`; the config file key is its camelCase form. */
  readonly flag: string;
  readonly kind: OptionKind;
  readonly description: string;
  /**
   * The value that takes effect when the option is not given, in the library's unit (a duration
   * in milliseconds). Absent when the default is computed (from other options, the system or the
   * environment): `defaultText` then says how.
   */
  readonly default?: OptionValue;
  /** `history-size` only: the default of a history kept in memory, `default` being sqlite's. */
  readonly memoryDefault?: number;
  /** How the docs and `--help` show a computed default, instead of the formatted `default`. */
  readonly defaultText?: string;
  /** Words that follow the formatted `default` in the docs (", at most max-connections"). */
  readonly defaultNote?: string;
  /** Smallest whole number accepted (integers only); 1 unless said. */
  readonly minimum?: number;
  /**
   * Where the option goes in `createHubServer`'s options (a dotted path). Absent for the
   * command line's own options (keys, `--dev`, `--log-level`, `--config`...), which the CLI
   * composes into other fields.
   */
  readonly target?: OptionPath;
  /**
   * Other environment variables that set this option, read after MERCURE_<UPPER_SNAKE>: the
   * reference hub's MERCURE_ names, then its Docker image's (`SERVER_NAME`), then the old (0.x)
   * hub's, whatever order they are listed in (the CLI sorts them). Using an old hub's name turns
   * the legacy dialect on (docs/coming-from-the-go-hub.md), unless `oldHubImpliesLegacy` is false.
   */
  readonly aliases?: readonly string[];
  /** False for an old name too generic to tell a 0.x setup (`SUBSCRIPTIONS`). */
  readonly oldHubImpliesLegacy?: boolean;
  /**
   * The value holds a secret, masked wherever it is shown (`quicksilver config print`): true for
   * the whole value, `url-password` for the password of a URL (`redis://user:***@host`).
   */
  readonly secret?: true | "url-password";
}

/** Sockets a client may hold beyond its streams by default: publishes, health checks, the API. */
export const SOCKETS_BESIDE_STREAMS = 256;

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  {
    flag: "listen",
    kind: "string",
    description: "address to listen on, host:port (port 0 picks a free one)",
    default: "localhost:3000",
    aliases: ["SERVER_NAME", "ADDR"],
  },
  {
    flag: "public-url",
    kind: "string",
    description:
      "the hub's public URL: relative topics and patterns resolve against it and its path is the hub path",
    defaultText: "http://<listen>/.well-known/mercure (https:// with --cert)",
    target: "publicUrl",
  },
  {
    flag: "cert",
    kind: "string",
    description:
      "TLS certificate chain, a PEM file: with --key, the hub serves HTTPS, HTTP/2 and HTTP/1.1 on one port (SIGHUP reloads both files)",
    aliases: ["CERT_FILE"],
    oldHubImpliesLegacy: false,
    target: "certFile",
  },
  {
    flag: "key",
    kind: "string",
    description: "the TLS certificate's private key, a PEM file (with --cert)",
    aliases: ["KEY_FILE"],
    oldHubImpliesLegacy: false,
    target: "keyFile",
  },
  {
    flag: "h2c",
    kind: "boolean",
    description: "without TLS, also serve cleartext HTTP/2 (prior knowledge) on the port, beside HTTP/1.1",
    default: false,
    target: "h2c",
  },
  {
    flag: "resource-identifier",
    kind: "string",
    description: "the OAuth resource identifier tokens must carry in aud",
    defaultText: "the public URL",
    target: "resourceIdentifier",
  },
  {
    flag: "issuer",
    kind: "list",
    description: "trusted token issuer(s) (iss) for the keys given by the flags below",
    aliases: ["MERCURE_TRUSTED_ISSUERS"],
  },
  {
    flag: "publisher-key",
    kind: "string",
    secret: true,
    description: "publisher verification key: an HMAC secret or a PEM public key",
    aliases: ["MERCURE_PUBLISHER_JWT_KEY", "PUBLISHER_JWT_KEY", "JWT_KEY"],
  },
  { flag: "publisher-key-file", kind: "string", description: "read the publisher key from this file" },
  {
    flag: "publisher-alg",
    kind: "string",
    description: "publisher signature algorithm (HS256..512, RS*, PS*, ES*, EdDSA)",
    defaultText: "HS256 for a secret, from the key type for a PEM key",
    aliases: ["MERCURE_PUBLISHER_JWT_ALG", "PUBLISHER_JWT_ALGORITHM", "JWT_ALGORITHM"],
  },
  {
    flag: "publisher-jwks-uri",
    kind: "string",
    secret: "url-password",
    description: "verify publisher tokens with this JWK Set URL instead of a key",
  },
  {
    flag: "subscriber-key",
    kind: "string",
    secret: true,
    description: "subscriber verification key: an HMAC secret or a PEM public key",
    aliases: ["MERCURE_SUBSCRIBER_JWT_KEY", "SUBSCRIBER_JWT_KEY", "JWT_KEY"],
  },
  { flag: "subscriber-key-file", kind: "string", description: "read the subscriber key from this file" },
  {
    flag: "subscriber-alg",
    kind: "string",
    description: "subscriber signature algorithm",
    defaultText: "as for the publisher",
    aliases: ["MERCURE_SUBSCRIBER_JWT_ALG", "SUBSCRIBER_JWT_ALGORITHM", "JWT_ALGORITHM"],
  },
  {
    flag: "subscriber-jwks-uri",
    kind: "string",
    secret: "url-password",
    description: "verify subscriber tokens with this JWK Set URL instead of a key",
  },
  {
    flag: "authorization-servers",
    kind: "list",
    description: "authorization servers advertised in the protected resource metadata",
    default: [],
    target: "authorizationServers",
  },
  {
    flag: "anonymous",
    kind: "boolean",
    description: "accept subscribers without a token (they get public updates only)",
    default: false,
    aliases: ["ALLOW_ANONYMOUS"],
    target: "anonymous",
  },
  {
    flag: "cors-origins",
    kind: "list",
    description:
      "origins allowed to use the hub from a browser (credentialed CORS); http://localhost:* style port wildcards allowed; * lets any other origin in without credentials",
    default: [],
    defaultText: "none",
    aliases: ["CORS_ALLOWED_ORIGINS"],
    target: "corsOrigins",
  },
  {
    flag: "publish-origins",
    kind: "list",
    description: "origins a cookie-authenticated publish may come from (CSRF protection; no *)",
    default: [],
    defaultText: "none",
    aliases: ["PUBLISH_ALLOWED_ORIGINS"],
    target: "publishOrigins",
  },
  {
    flag: "cookie-name",
    kind: "string",
    description: "name of the cookie that may carry the access token",
    default: "__Secure-mercure_access_token",
    target: "cookieName",
  },
  {
    flag: "heartbeat",
    kind: "duration",
    description: "send a keep-alive comment after this much silence on a stream",
    default: 30_000,
    aliases: ["HEARTBEAT_INTERVAL"],
    target: "streams.heartbeatMs",
  },
  {
    flag: "write-timeout",
    kind: "duration",
    description:
      "drop a subscriber whose socket stays backed up this long; a stream the hub ended (lifetime, token expiry, stop) that its client has not read this long after is cut too",
    default: 10_000,
    // The old hub's dispatch timeout dropped a subscriber whose write did not complete in time.
    aliases: ["DISPATCH_TIMEOUT"],
    target: "streams.writeTimeoutMs",
  },
  {
    flag: "max-lifetime",
    kind: "duration",
    description: "close streams after this long (less up to 10%), so clients re-authenticate",
    default: 3_600_000,
    // The old hub's write timeout was the longest a connection lived: it ended streams before it.
    aliases: ["WRITE_TIMEOUT"],
    target: "streams.maxLifetimeMs",
  },
  {
    flag: "transport",
    kind: "string",
    secret: "url-password",
    description:
      "where history lives: sqlite:<path> (durable), redis://[user:password@]host:port[/db] or rediss://... (shared by a cluster of hubs), memory (lost on restart) or none (no history)",
    default: "sqlite",
    defaultText: "sqlite:<data-dir>/history.db",
    target: "history.transport",
  },
  {
    flag: "data-dir",
    kind: "string",
    description: "the directory of the default history store",
    defaultText: "$XDG_DATA_HOME/quicksilver, else ~/.local/share/quicksilver",
  },
  {
    flag: "history-size",
    kind: "integer",
    description: "most updates kept for reconnecting subscribers, oldest dropped first (0 keeps none)",
    default: 1_000_000,
    memoryDefault: 1000,
    minimum: 0,
    target: "history.maxCount",
  },
  {
    flag: "history-max-age",
    kind: "duration",
    description: "drop updates older than this from a sqlite or redis history",
    default: 7 * 24 * 3_600_000,
    target: "history.maxAgeMs",
  },
  {
    flag: "history-max-bytes",
    kind: "integer",
    description:
      "most bytes of stored updates (frames and topics; encoded updates in redis) in a sqlite or redis history, oldest dropped first",
    default: 1024 * 1024 * 1024,
    target: "history.maxBytes",
  },
  {
    flag: "history-durability",
    kind: "string",
    description:
      "full: an acknowledged update survives a power cut (a sync per commit); normal: it survives the hub being killed",
    default: "full",
    target: "history.durability",
  },
  {
    flag: "redis-prefix",
    kind: "string",
    description:
      "the prefix of every key of a redis history, with a {hash tag} so that all live in one Redis Cluster slot; hubs that share it are one cluster",
    default: "{quicksilver}",
    target: "history.keyPrefix",
  },
  {
    flag: "node-lease",
    kind: "duration",
    description:
      "with redis: how long a hub that stops renewing its lease (killed, cut off) keeps its subscriptions before another hub ends them",
    default: 10_000,
    target: "history.leaseMs",
  },
  {
    flag: "max-body-bytes",
    kind: "integer",
    description: "largest publish or QUERY body (413 above)",
    default: 1024 * 1024,
    target: "limits.maxBodyBytes",
  },
  {
    flag: "max-field-bytes",
    kind: "integer",
    description: "largest encoded form field other than data (413 above)",
    default: 16 * 1024,
    target: "limits.maxFieldBytes",
  },
  {
    flag: "max-fields",
    kind: "integer",
    description: "most fields in one form (413 above)",
    default: 256,
    target: "limits.maxFields",
  },
  {
    flag: "max-topics",
    kind: "integer",
    description: "most topics in one update (413 above)",
    default: 64,
    target: "limits.maxTopics",
  },
  {
    flag: "max-matchers",
    kind: "integer",
    description: "most topic matchers in one subscription (400 above)",
    default: 64,
    target: "limits.maxMatchers",
  },
  {
    flag: "max-pattern-length",
    kind: "integer",
    description: "longest topic matcher, in subscriptions and tokens (400 or invalid token above)",
    default: 2048,
    target: "limits.maxPatternLength",
  },
  {
    flag: "max-connections",
    kind: "integer",
    description:
      "most open streams in this process (429 above); a stream is a socket, so at most max-sockets",
    default: 16_384,
    defaultNote: ", at most nine tenths of max-sockets",
    target: "limits.maxConnections",
  },
  {
    flag: "max-connections-per-client",
    kind: "integer",
    description: "most open streams from one client address (429 above); at most max-sockets-per-client",
    default: 1024,
    defaultNote: ", at most max-connections",
    target: "limits.maxConnectionsPerClient",
  },
  {
    flag: "max-connections-per-subject",
    kind: "integer",
    description:
      "most open streams under one token subject, from any address (429 above); a token without sub counts as its own subject, anonymous streams are not counted",
    default: 256,
    target: "limits.maxConnectionsPerSubject",
  },
  {
    flag: "publish-rate",
    kind: "integer",
    description:
      "updates one publisher (token issuer and subject, or the token without sub) may send per second on average (429 publish_rate_exceeded above); 0: no bound",
    default: 0,
    minimum: 0,
    target: "limits.publishRate",
  },
  {
    flag: "publish-burst",
    kind: "integer",
    description: "with publish-rate: updates one publisher may send at once",
    defaultText: "twice publish-rate",
    target: "limits.publishBurst",
  },
  {
    flag: "trusted-proxies",
    kind: "list",
    description:
      "reverse proxies (IP addresses or CIDR ranges) whose Forwarded or X-Forwarded-For gives the client address max-connections-per-client counts",
    default: [],
    defaultText: "none",
    target: "trustedProxies",
  },
  {
    flag: "max-sockets",
    kind: "integer",
    description:
      "most TCP connections served, whatever they carry (503 hub_at_capacity above, health checks still answered; a band past it is answered, more are closed at once)",
    defaultText: "what ulimit -n leaves after 5% (at least 64) for files and the band past the limit",
    target: "sockets.maxSockets",
  },
  {
    flag: "max-sockets-per-client",
    kind: "integer",
    description: "most TCP connections served from one client address (429 too_many_connections above)",
    defaultText: `max-connections-per-client + ${SOCKETS_BESIDE_STREAMS}, at most max-sockets`,
    target: "sockets.maxSocketsPerClient",
  },
  {
    flag: "max-streams-per-connection",
    kind: "integer",
    description:
      "most concurrent HTTP/2 streams (subscriptions and requests) on one connection, sent as SETTINGS_MAX_CONCURRENT_STREAMS (the stream is refused above)",
    default: 100,
    target: "sockets.maxStreamsPerConnection",
  },
  {
    flag: "headers-timeout",
    kind: "duration",
    description: "time a connection has to send a request's headers; one that sends none is closed after it",
    default: 10_000,
    target: "sockets.headersTimeoutMs",
  },
  {
    flag: "shutdown-timeout",
    kind: "duration",
    description:
      "on SIGTERM, time requests already received have to be answered before their connections are closed",
    default: 10_000,
    target: "shutdownTimeoutMs",
  },
  {
    flag: "shutdown-spread",
    kind: "duration",
    description:
      "on SIGTERM, window over which streams end at random moments, each told a random reconnection delay (0: all at once); less than shutdown-timeout",
    default: 3_000,
    defaultNote: ", at most half of shutdown-timeout",
    target: "shutdownSpreadMs",
  },
  {
    flag: "max-pipelined-requests",
    kind: "integer",
    description:
      "most requests one connection may send ahead of the answers it is waiting for (the connection is closed above)",
    default: 16,
    target: "limits.maxPipelinedRequests",
  },
  {
    flag: "max-queue-bytes",
    kind: "integer",
    description: "bytes waiting for one subscriber before it is dropped as a slow consumer",
    default: 4 * 1024 * 1024,
    target: "streams.maxQueueBytes",
  },
  {
    flag: "max-token-bytes",
    kind: "integer",
    description: "longest access token (invalid token above)",
    default: 16 * 1024,
    target: "tokens.maxTokenBytes",
  },
  {
    flag: "max-authorization-details",
    kind: "integer",
    description: "most Mercure authorization details in a token (invalid token above)",
    default: 64,
    target: "tokens.maxAuthorizationDetails",
  },
  {
    flag: "max-topics-per-detail",
    kind: "integer",
    description: "most topics in one authorization detail (invalid token above)",
    default: 256,
    target: "tokens.maxTopicsPerDetail",
  },
  {
    flag: "max-payload-depth",
    kind: "integer",
    description: "deepest nesting of objects and arrays in a token's payload (invalid token above)",
    default: 32,
    target: "tokens.maxPayloadDepth",
  },
  {
    flag: "subscriptions",
    kind: "boolean",
    description:
      "active subscriptions: publish an event as each subscription begins and ends, and serve the subscription API",
    default: false,
    aliases: ["SUBSCRIPTIONS"],
    oldHubImpliesLegacy: false,
    target: "subscriptions",
  },
  {
    flag: "max-subscriptions-listed",
    kind: "integer",
    description:
      "most subscriptions in one page of the subscription API (a rel=next link gives the next page)",
    default: 1000,
    target: "limits.maxSubscriptionsListed",
  },
  {
    flag: "subscription-history-size",
    kind: "integer",
    description:
      "most subscription events kept, in memory and apart from update history, for presence clients reconnecting with a cursor",
    default: 10_000,
    minimum: 0,
    target: "subscriptionHistorySize",
  },
  {
    flag: "workers",
    kind: "string",
    description:
      "processes serving the one port as one hub: a whole number, or auto for one per core; each holds its own sockets (docs/cluster.md)",
    default: "1",
  },
  {
    flag: "metrics",
    kind: "boolean",
    description:
      "also serve the Prometheus metrics at /metrics on the hub's own port, to whoever reaches it (docs/metrics.md)",
    default: false,
    target: "metrics",
  },
  {
    flag: "metrics-listen",
    kind: "string",
    description:
      "serve /metrics and the health checks on an admin listener of their own, host:port, off the public port (docs/metrics.md)",
    defaultText: "none",
    target: "metricsListen",
  },
  {
    flag: "ui",
    kind: "boolean",
    description:
      "serve the web page that shows and drives the hub at {hub path}/ui/, with its status at {hub path}/ui/status (docs/ui.md)",
    default: false,
    defaultNote: "; on with --dev",
    target: "ui",
  },
  {
    flag: "log-level",
    kind: "string",
    description: "fatal, error, warn, info, debug or trace",
    default: "info",
  },
  {
    flag: "log-format",
    kind: "string",
    description: "json (one object a line, for log collectors) or pretty (readable lines, for a terminal)",
    default: "json",
    defaultNote: "; pretty with --dev",
  },
  {
    flag: "request-log-level",
    kind: "string",
    description:
      "level of the line logged for each publish, refused request and stream opened or closed: debug, info, warn or off (docs/logging.md)",
    default: "info",
    target: "requestLogLevel",
  },
  {
    flag: "config",
    kind: "string",
    description:
      "a JSON or YAML configuration file (see docs/configuration.md); flags and env vars override it",
  },
  {
    flag: "dev",
    kind: "boolean",
    description: "development mode: generated key, anonymous subscribers, localhost CORS, printed tokens",
    default: false,
  },
  {
    flag: "legacy",
    kind: "boolean",
    description:
      "also speak the legacy (0.x) dialect: topic=, the mercure claim, tokens without iss (see docs/coming-from-the-go-hub.md)",
    default: false,
    defaultNote: "; on for a 0.x configuration",
    target: "legacy",
  },
];

const BY_FLAG: ReadonlyMap<string, OptionSpec> = new Map(SERVE_OPTIONS.map((spec) => [spec.flag, spec]));

/** The option of that flag; a flag missing from the table is a defect. */
export function optionSpec(flag: string): OptionSpec {
  const spec = BY_FLAG.get(flag);
  if (spec === undefined) throw new Error(`no option --${flag}`);
  return spec;
}

/** The option's default, as the table gives it; a flag without one is a defect. */
export function defaultOf<T extends OptionValue>(flag: string): T {
  const value = optionSpec(flag).default;
  if (value === undefined) throw new Error(`--${flag} has no default in the option table`);
  return value as T;
}

/** The defaults of the options under one section of the options (`limits`), by field. */
export function sectionDefaults(section: string): Record<string, OptionValue> {
  const prefix = `${section}.`;
  return Object.fromEntries(
    SERVE_OPTIONS.filter((spec) => spec.target?.startsWith(prefix) && spec.default !== undefined).map(
      (spec) => [(spec.target as string).slice(prefix.length), spec.default as OptionValue],
    ),
  );
}

/** The default as the docs and `--help` show it; undefined when there is none to show. */
export function shownDefault(spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.default === undefined || Array.isArray(spec.default)) return undefined;
  let text = spec.kind === "duration" ? formatDuration(spec.default as number) : String(spec.default);
  if (spec.memoryDefault !== undefined) text = `${text} with sqlite, ${spec.memoryDefault} in memory`;
  return text + (spec.defaultNote ?? "");
}

const DURATION_UNITS: readonly [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
];

/** 30000 → `30s`, 3600000 → `1h`: the largest unit that divides it whole. */
export function formatDuration(ms: number): string {
  const unit = DURATION_UNITS.find(([, size]) => ms % size === 0 && ms >= size);
  return unit === undefined ? `${ms}ms` : `${ms / unit[1]}${unit[0]}`;
}
