/**
 * The options of `createHubServer`: what an embedder may give (`HubServerOptions`, every field
 * optional but the issuers) and what takes effect (`HubServerConfig`, every default applied from
 * the option table).
 */
import type { IssuerConfig } from "../auth/keys.ts";
import type { VerifierLimits } from "../auth/verifier.ts";
import type { SocketLimits } from "../http/connection-guard.ts";
import type { DevTokenKey, HttpLimits } from "../http/options.ts";
import type { HubOptions } from "../hub/hub.ts";
import type { Logger, RequestLogLevel } from "../hub/logger.ts";
import type { Transport } from "../hub/transport.ts";
import type { SqliteDurability } from "../transports/sqlite.ts";

/** How each subscriber stream is kept alive and bounded. */
export type StreamOptions = Pick<
  HubOptions,
  "heartbeatMs" | "writeTimeoutMs" | "maxLifetimeMs" | "maxQueueBytes"
>;

/** Bounds on the TCP sockets the server holds, whatever they carry. */
export interface SocketOptions
  extends Pick<SocketLimits, "maxSockets" | "maxSocketsPerClient" | "headersTimeoutMs"> {
  /** Most concurrent HTTP/2 streams on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxStreamsPerConnection: number;
}

/** Bounds on access tokens; the longest topic matcher is `limits.maxPatternLength`, as in requests. */
export type TokenLimits = Omit<VerifierLimits, "maxPatternLength">;

/** The old hub's keys, for legacy tokens that name no configured issuer. */
export type LegacyKeys = Pick<IssuerConfig, "publisher" | "subscriber">;

/** Where history lives and how much of it is kept, as it takes effect. */
export type HistoryConfig =
  | { readonly transport: "none" }
  | { readonly transport: "memory"; readonly maxCount: number }
  | {
      readonly transport: "sqlite";
      readonly path: string;
      readonly maxCount: number;
      readonly maxAgeMs: number;
      readonly maxBytes: number;
      readonly durability: SqliteDurability;
    }
  | {
      readonly transport: "redis";
      readonly url: string;
      readonly keyPrefix: string;
      readonly maxCount: number;
      readonly maxAgeMs: number;
      readonly maxBytes: number;
      readonly leaseMs: number;
    };

/** Where history lives, as given: the bounds left out take their defaults. */
export type HistoryOptions =
  | { readonly transport: "none" }
  | { readonly transport: "memory"; readonly maxCount?: number }
  | {
      readonly transport: "sqlite";
      /** The database file; its directory is created if missing. */
      readonly path: string;
      readonly maxCount?: number;
      readonly maxAgeMs?: number;
      readonly maxBytes?: number;
      readonly durability?: SqliteDurability;
    }
  | {
      /** Shared by every hub on one Redis (7 or later) or Valkey: a cluster (docs/cluster.md). */
      readonly transport: "redis";
      /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
      readonly url: string;
      /** The prefix of every key, with a hash tag (default `{quicksilver}`). */
      readonly keyPrefix?: string;
      readonly maxCount?: number;
      readonly maxAgeMs?: number;
      readonly maxBytes?: number;
      /** How long a node that stops renewing its lease keeps its subscriptions (ms). */
      readonly leaseMs?: number;
    };

/** Every option of a hub server, as it takes effect. */
export interface HubServerConfig {
  /** The interface to listen on; `0.0.0.0` for all. */
  readonly host: string;
  /** The port to listen on; 0 picks a free one (read it from the handle's `hubUrl`). */
  readonly port: number;
  /**
   * The hub's public URL: relative topics and patterns resolve against it and its path is the
   * hub path. Undefined: `http://<host>:<port>/.well-known/mercure` (`https://` with TLS).
   */
  readonly publicUrl: string | undefined;
  /**
   * The TLS certificate chain and its private key, PEM files, both or neither: with them the hub
   * serves HTTPS, HTTP/2 and HTTP/1.1 (ALPN) on its port; `reloadCertificate()` reads them again.
   */
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  /** Without TLS, also serve cleartext HTTP/2 (prior knowledge) beside HTTP/1.1 on the port. */
  readonly h2c: boolean;
  /** The OAuth resource identifier tokens must carry in `aud`; undefined: the hub URL. */
  readonly resourceIdentifier: string | undefined;
  /** The trusted token issuers and the keys that verify their tokens. */
  readonly issuers: readonly IssuerConfig[];
  /** Also speak the legacy (0.x) dialect (see docs/coming-from-the-go-hub.md). */
  readonly legacy: boolean;
  /** Key material for legacy tokens that name no configured issuer (the old hub's keys). */
  readonly legacyKeys: LegacyKeys | undefined;
  /** Advertised in the protected resource metadata. */
  readonly authorizationServers: readonly string[];
  /** Accept subscribers without a token (they get public updates only). */
  readonly anonymous: boolean;
  /** Origins allowed to use the hub from a browser (credentialed CORS); `*` lets any in, uncredentialed. */
  readonly corsOrigins: readonly string[];
  /** Origins a cookie-authenticated publish may come from (CSRF protection; no `*`). */
  readonly publishOrigins: readonly string[];
  /**
   * Reverse proxies (addresses or CIDR ranges) whose `Forwarded` or `X-Forwarded-For` gives the
   * client's address for the per-client stream limit.
   */
  readonly trustedProxies: readonly string[];
  /** The cookie that may carry the access token. */
  readonly cookieName: string;
  /** Active subscriptions: an event as each subscription begins and ends, and the subscription API. */
  readonly subscriptions: boolean;
  /** Subscription events kept in memory, apart from update history, for reconnecting presence clients. */
  readonly subscriptionHistorySize: number;
  readonly history: HistoryConfig;
  readonly streams: StreamOptions;
  readonly limits: HttpLimits;
  readonly sockets: SocketOptions;
  readonly tokens: TokenLimits;
  /** On close, the time requests already received have to be answered before connections are cut. */
  readonly shutdownTimeoutMs: number;
  /** The level of the line logged for each publish, refused request and stream (docs/logging.md). */
  readonly requestLogLevel: RequestLogLevel;
  /**
   * Also serve the Prometheus metrics at `/metrics` on the hub's own port: to anyone who can
   * reach the hub (docs/metrics.md).
   */
  readonly metrics: boolean;
  /**
   * `host:port` of an admin listener of its own, off the public port, serving `/metrics` and the
   * health checks; undefined for none. With neither this nor `metrics`, no metrics are collected.
   */
  readonly metricsListen: string | undefined;
  /**
   * Serve the web page that shows and drives the hub at `{hub path}/ui/` (docs/ui.md). Off by
   * default; on by default in development mode (`dev`).
   */
  readonly ui: boolean;
  /**
   * Development mode (`quicksilver serve --dev`), as far as the hub's web page goes: the page is
   * on unless `ui` says otherwise, its status is open to anyone, `GET /` leads to it, and
   * `devTokens` mints tokens for it. Never for a hub others can reach.
   */
  readonly dev?: boolean;
  /**
   * In development mode, the issuer and HMAC secret with which `POST {hub path}/ui/dev-token`
   * mints tokens; absent, that endpoint is not served.
   */
  readonly devTokens?: DevTokenKey | undefined;
  /**
   * On close, the window over which streams end at random moments, so that their clients do not
   * all reconnect to the other hubs at once; less than `shutdownTimeoutMs`.
   */
  readonly shutdownSpreadMs: number;
}

type Sections = "history" | "streams" | "limits" | "sockets" | "tokens";

/** What `createHubServer` takes: only the issuers must be given, every other field has a default. */
export interface HubServerOptions extends Partial<Omit<HubServerConfig, "issuers" | Sections>> {
  /**
   * The trusted token issuers and their keys. Empty only with the legacy dialect and
   * `legacyKeys`: without a key, no token can be verified.
   */
  readonly issuers: readonly IssuerConfig[];
  /** Where history lives; in memory (`{ transport: "memory" }`) unless said. */
  readonly history?: HistoryOptions;
  /** A transport built by the caller, used instead of the one `history` describes. */
  readonly transport?: Transport;
  readonly streams?: Partial<StreamOptions>;
  readonly limits?: Partial<HttpLimits>;
  readonly sockets?: Partial<SocketOptions>;
  readonly tokens?: Partial<TokenLimits>;
  /** Where the hub logs (pino's interface fits); nowhere unless said. */
  readonly logger?: Logger;
}

type Leaf = string | number | boolean | readonly unknown[] | undefined;
type Paths<T> = {
  [K in keyof T & string]: NonNullable<T[K]> extends Leaf ? K : `${K}.${keyof NonNullable<T[K]> & string}`;
}[keyof T & string];

/** A field of `HubServerConfig`, as a dotted path (`streams.heartbeatMs`): an option's target. */
export type OptionPath = Paths<
  Omit<HubServerConfig, "history"> & {
    history: Omit<Extract<HistoryConfig, { transport: "sqlite" }>, "transport"> &
      Omit<Extract<HistoryConfig, { transport: "redis" }>, "transport"> & { transport: string };
  }
>;

/** The value at a dotted path; undefined when a section or the field is missing. */
export function valueAt(config: object, path: string): unknown {
  let value: unknown = config;
  for (const key of path.split(".")) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
