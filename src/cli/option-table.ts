/**
 * Every `quicksilver serve` option, once: its flag, the environment variables that set it, its
 * kind, default and meaning. Flags, env vars, the config file and docs/configuration.md are all
 * read from this table (a test keeps the docs in step).
 */
export type OptionKind = "string" | "boolean" | "integer" | "duration" | "list";

export interface OptionSpec {
  /** The flag, without `--`; the config file key is its camelCase form. */
  readonly flag: string;
  readonly kind: OptionKind;
  readonly description: string;
  /** As shown in the docs; the resolved defaults live in resolve-config.ts. */
  readonly defaultText?: string;
  /**
   * Other environment variables that set this option, read after MERCURE_<UPPER_SNAKE>: the
   * reference hub's MERCURE_ names, then its Docker image's (`SERVER_NAME`), then the old (0.x)
   * hub's, whatever order they are listed in (see `aliasOrigin`). Using an old hub's name turns
   * the legacy dialect on (docs/coming-from-the-go-hub.md), unless `oldHubImpliesLegacy` is false.
   */
  readonly aliases?: readonly string[];
  /** False for an old name too generic to tell a 0.x setup (`SUBSCRIPTIONS`). */
  readonly oldHubImpliesLegacy?: boolean;
}

/** The reference hub's names that are neither MERCURE_ names nor the old hub's. */
const DOCKER_NAMES: ReadonlySet<string> = new Set(["SERVER_NAME"]);

/** Where an alias comes from, in order of precedence. */
export type AliasOrigin = "reference" | "docker" | "0.x";

/** `MERCURE_PUBLISHER_JWT_KEY` → reference, `SERVER_NAME` → docker, `JWT_KEY` → 0.x. */
export function aliasOrigin(name: string): AliasOrigin {
  if (name.startsWith("MERCURE_")) return "reference";
  return DOCKER_NAMES.has(name) ? "docker" : "0.x";
}

export const SERVE_OPTIONS: readonly OptionSpec[] = [
  {
    flag: "listen",
    kind: "string",
    description: "address to listen on, host:port (port 0 picks a free one)",
    defaultText: "localhost:3000",
    aliases: ["SERVER_NAME", "ADDR"],
  },
  {
    flag: "public-url",
    kind: "string",
    description:
      "the hub's public URL: relative topics and patterns resolve against it and its path is the hub path",
    defaultText: "http://<listen>/.well-known/mercure",
  },
  {
    flag: "resource-identifier",
    kind: "string",
    description: "the OAuth resource identifier tokens must carry in aud",
    defaultText: "the public URL",
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
    description: "verify publisher tokens with this JWK Set URL instead of a key",
  },
  {
    flag: "subscriber-key",
    kind: "string",
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
    description: "verify subscriber tokens with this JWK Set URL instead of a key",
  },
  {
    flag: "authorization-servers",
    kind: "list",
    description: "authorization servers advertised in the protected resource metadata",
  },
  {
    flag: "anonymous",
    kind: "boolean",
    description: "accept subscribers without a token (they get public updates only)",
    defaultText: "false",
    aliases: ["ALLOW_ANONYMOUS"],
  },
  {
    flag: "cors-origins",
    kind: "list",
    description:
      "origins allowed to use the hub from a browser (credentialed CORS); http://localhost:* style port wildcards allowed; * lets any other origin in without credentials",
    defaultText: "none",
    aliases: ["CORS_ALLOWED_ORIGINS"],
  },
  {
    flag: "publish-origins",
    kind: "list",
    description: "origins a cookie-authenticated publish may come from (CSRF protection; no *)",
    defaultText: "none",
    aliases: ["PUBLISH_ALLOWED_ORIGINS"],
  },
  {
    flag: "cookie-name",
    kind: "string",
    description: "name of the cookie that may carry the access token",
    defaultText: "__Secure-mercure_access_token",
  },
  {
    flag: "heartbeat",
    kind: "duration",
    description: "send a keep-alive comment after this much silence on a stream",
    defaultText: "30s",
    aliases: ["HEARTBEAT_INTERVAL"],
  },
  {
    flag: "write-timeout",
    kind: "duration",
    description:
      "drop a subscriber whose socket stays backed up this long; a stream the hub ended (lifetime, token expiry, stop) that its client has not read this long after is cut too",
    defaultText: "10s",
    // The old hub's dispatch timeout dropped a subscriber whose write did not complete in time.
    aliases: ["DISPATCH_TIMEOUT"],
  },
  {
    flag: "max-lifetime",
    kind: "duration",
    description: "close streams after this long (less up to 10%), so clients re-authenticate",
    defaultText: "1h",
    // The old hub's write timeout was the longest a connection lived: it ended streams before it.
    aliases: ["WRITE_TIMEOUT"],
  },
  {
    flag: "transport",
    kind: "string",
    description:
      "where history lives: sqlite:<path> (durable), memory (lost on restart) or none (no history)",
    defaultText: "sqlite:<data-dir>/history.db",
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
    defaultText: "1000000 with sqlite, 1000 in memory",
  },
  {
    flag: "history-max-age",
    kind: "duration",
    description: "drop updates older than this from a sqlite history",
    defaultText: "7d",
  },
  {
    flag: "history-max-bytes",
    kind: "integer",
    description: "most bytes of stored updates (frames and topics) in a sqlite history, oldest dropped first",
    defaultText: "1073741824",
  },
  {
    flag: "history-durability",
    kind: "string",
    description:
      "full: an acknowledged update survives a power cut (a sync per commit); normal: it survives the hub being killed",
    defaultText: "full",
  },
  {
    flag: "max-body-bytes",
    kind: "integer",
    description: "largest publish or QUERY body (413 above)",
    defaultText: "1048576",
  },
  {
    flag: "max-field-bytes",
    kind: "integer",
    description: "largest encoded form field other than data (413 above)",
    defaultText: "16384",
  },
  {
    flag: "max-fields",
    kind: "integer",
    description: "most fields in one form (413 above)",
    defaultText: "256",
  },
  {
    flag: "max-topics",
    kind: "integer",
    description: "most topics in one update (413 above)",
    defaultText: "64",
  },
  {
    flag: "max-matchers",
    kind: "integer",
    description: "most topic matchers in one subscription (400 above)",
    defaultText: "64",
  },
  {
    flag: "max-pattern-length",
    kind: "integer",
    description: "longest topic matcher, in subscriptions and tokens (400 or invalid token above)",
    defaultText: "2048",
  },
  {
    flag: "max-connections",
    kind: "integer",
    description:
      "most open streams in this process (429 above); a stream is a socket, so at most max-sockets",
    defaultText: "16384, at most nine tenths of max-sockets",
  },
  {
    flag: "max-connections-per-client",
    kind: "integer",
    description: "most open streams from one client address (429 above); at most max-sockets-per-client",
    defaultText: "1024, at most max-connections",
  },
  {
    flag: "max-sockets",
    kind: "integer",
    description:
      "most TCP connections served, whatever they carry (503 hub_at_capacity above, /healthz still answered; a band past it is answered, more are closed at once)",
    defaultText: "what ulimit -n leaves after 5% (at least 64) for files and the band past the limit",
  },
  {
    flag: "max-sockets-per-client",
    kind: "integer",
    description: "most TCP connections served from one client address (429 too_many_connections above)",
    defaultText: "max-connections-per-client + 256, at most max-sockets",
  },
  {
    flag: "headers-timeout",
    kind: "duration",
    description: "time a connection has to send a request's headers; one that sends none is closed after it",
    defaultText: "10s",
  },
  {
    flag: "shutdown-timeout",
    kind: "duration",
    description:
      "on SIGTERM, time requests already received have to be answered before their connections are closed",
    defaultText: "10s",
  },
  {
    flag: "max-pipelined-requests",
    kind: "integer",
    description:
      "most requests one connection may send ahead of the answers it is waiting for (the connection is closed above)",
    defaultText: "16",
  },
  {
    flag: "max-queue-bytes",
    kind: "integer",
    description: "bytes waiting for one subscriber before it is dropped as a slow consumer",
    defaultText: "4194304",
  },
  {
    flag: "max-token-bytes",
    kind: "integer",
    description: "longest access token (invalid token above)",
    defaultText: "16384",
  },
  {
    flag: "max-authorization-details",
    kind: "integer",
    description: "most Mercure authorization details in a token (invalid token above)",
    defaultText: "64",
  },
  {
    flag: "max-topics-per-detail",
    kind: "integer",
    description: "most topics in one authorization detail (invalid token above)",
    defaultText: "256",
  },
  {
    flag: "max-payload-depth",
    kind: "integer",
    description: "deepest nesting of objects and arrays in a token's payload (invalid token above)",
    defaultText: "32",
  },
  {
    flag: "subscriptions",
    kind: "boolean",
    description:
      "active subscriptions: publish an event as each subscription begins and ends, and serve the subscription API",
    defaultText: "false",
    aliases: ["SUBSCRIPTIONS"],
    oldHubImpliesLegacy: false,
  },
  {
    flag: "max-subscriptions-listed",
    kind: "integer",
    description:
      "most subscriptions in one page of the subscription API (a rel=next link gives the next page)",
    defaultText: "1000",
  },
  {
    flag: "subscription-history-size",
    kind: "integer",
    description:
      "most subscription events kept, in memory and apart from update history, for presence clients reconnecting with a cursor",
    defaultText: "10000",
  },
  {
    flag: "log-level",
    kind: "string",
    description: "fatal, error, warn, info, debug or trace",
    defaultText: "info",
  },
  {
    flag: "config",
    kind: "string",
    description: "a JSON configuration file (see docs/configuration.md); flags and env vars override it",
  },
  {
    flag: "dev",
    kind: "boolean",
    description: "development mode: generated key, anonymous subscribers, localhost CORS, printed tokens",
    defaultText: "false",
  },
  {
    flag: "legacy",
    kind: "boolean",
    description:
      "also speak the legacy (0.x) dialect: topic=, the mercure claim, tokens without iss (see docs/coming-from-the-go-hub.md)",
    defaultText: "false; on for a 0.x configuration",
  },
];

/** `publisher-key` → `MERCURE_PUBLISHER_KEY`. */
export function envName(flag: string): string {
  return `MERCURE_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** `publisher-key` → `publisherKey`. */
export function camelName(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}
