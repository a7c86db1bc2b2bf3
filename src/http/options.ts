import type { Logger, RequestLogLevel } from "../hub/logger.ts";
import { sectionDefaults } from "../server/option-table.ts";
import type { TrustedProxies } from "./client-address.ts";
import type { OriginAllowlist } from "./cors.ts";
import type { HttpResponse } from "./exchange.ts";
import type { UiFiles } from "./ui-files.ts";

export interface HttpLimits {
  /** Largest publish (or QUERY) body, in bytes. */
  readonly maxBodyBytes: number;
  /** Largest encoded form field name or value, `data` excepted (bounded by the body), in bytes. */
  readonly maxFieldBytes: number;
  /** Most name/value pairs in one form. */
  readonly maxFields: number;
  /** Most topics in one update. */
  readonly maxTopics: number;
  /** Most topic matchers in one subscription request. */
  readonly maxMatchers: number;
  /** Longest topic matcher, in characters. */
  readonly maxPatternLength: number;
  /** Most open subscriber streams in this process. */
  readonly maxConnections: number;
  /** Most open subscriber streams from one client address. */
  readonly maxConnectionsPerClient: number;
  /** Most open subscriber streams under one token subject (`iss` + `sub`, or the token without `sub`). */
  readonly maxConnectionsPerSubject: number;
  /** Updates one publisher (see `tokenHolder`) may send per second on average; 0: no bound. */
  readonly publishRate: number;
  /** Updates one publisher may send at once; undefined: twice `publishRate`. */
  readonly publishBurst?: number;
  /** Most subscriptions in one page of the subscription API. */
  readonly maxSubscriptionsListed: number;
  /** Most requests one connection may have waiting behind the one being answered (pipelining). */
  readonly maxPipelinedRequests: number;
}

/** The issuer and HMAC secret development tokens are minted with. */
export interface DevTokenKey {
  readonly issuer: string;
  readonly key: string;
}

/** What the hub's web page (`{hub path}/ui/`) is served with. */
export interface UiOptions {
  /** The page's files, read at startup. */
  readonly files: UiFiles;
  /** Development mode: the status is open to anyone and `GET /` leads to the page. */
  readonly dev: boolean;
  /** In development mode, what `{hub path}/ui/dev-token` mints with; undefined: not served. */
  readonly devTokens: DevTokenKey | undefined;
  /** The package's version, for the status. */
  readonly version: string;
  /** The kind of transport (`memory`, `sqlite`, `redis`, `none`, or `custom` for one given). */
  readonly transport: string;
  /** The updates history keeps now, when the transport counts them at no cost. */
  readonly historySize: (() => number) | undefined;
}

/** What the HTTP adapter needs, resolved and validated by the CLI (or by an embedding program). */
export interface HttpOptions {
  /** The hub's public URL: relative topics and patterns resolve against it, its path is reserved. */
  readonly hubUrl: string;
  /** The OAuth resource identifier: what tokens carry in `aud`. */
  readonly resourceIdentifier: string;
  /** Whether subscribers without a token are accepted (they get public updates only). */
  readonly anonymous: boolean;
  /** Origins allowed to subscribe and publish across origins (CORS, with credentials). */
  readonly corsOrigins: OriginAllowlist;
  /** Origins a cookie-authenticated publish may come from (CSRF protection). */
  readonly publishOrigins: OriginAllowlist;
  readonly cookieName: string;
  /**
   * The legacy dialect (`topic=`, the `mercure` claim, the `mercureAuthorization` cookie, the
   * `authorization` and `lastEventID` query parameters) alongside draft-08. When off, a legacy
   * request is refused with a 400 that names the modern equivalent and the option.
   */
  readonly legacy: boolean;
  /** Advertised in the protected resource metadata, when tokens come from authorization servers. */
  readonly authorizationServers: readonly string[];
  readonly limits: HttpLimits;
  /**
   * The reverse proxies whose record of the client's address is believed (see `clientAddress`);
   * none when absent: the client is the TCP peer.
   */
  readonly trustedProxies?: TrustedProxies;
  readonly logger?: Logger;
  /** The level of the line logged for each publish and each refused request (`debug` unless said). */
  readonly requestLogLevel?: RequestLogLevel;
  /**
   * Serves `GET /metrics` on the hub's own port (the `metrics` option): answers with the
   * Prometheus text. Left out, `/metrics` is not found.
   */
  readonly metrics?: (res: HttpResponse) => void;
  /** Serves the hub's web page and its status under `{hub path}/ui/`; left out, they are not found. */
  readonly ui?: UiOptions;
}

/**
 * The limits' defaults, from the option table (the one place they are written): for an
 * application that mounts `createRequestHandler` in its own server.
 */
export const DEFAULT_LIMITS: HttpLimits = Object.freeze(sectionDefaults("limits") as unknown as HttpLimits);
