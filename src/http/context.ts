import type { TokenVerifier } from "../auth/verifier.ts";
import type { Hub } from "../hub/hub.ts";
import type { Logger } from "../hub/logger.ts";
import type { HttpOptions } from "./options.ts";
import type { PublishRateLimiter } from "./publish-rate-limiter.ts";
import type { RequestLog } from "./request-log.ts";
import type { StreamLimiter } from "./stream-limiter.ts";

/** What every route handler shares, derived once from the options. */
export interface HttpContext {
  readonly hub: Hub;
  readonly verifier: TokenVerifier;
  readonly options: HttpOptions;
  readonly logger: Logger;
  /** The line of each publish and refusal. */
  readonly requestLog: RequestLog;
  /** The path of the hub URL, e.g. `/.well-known/mercure`. */
  readonly hubPath: string;
  /** `{hubPath}/subscriptions`, where the subscription API lives. */
  readonly subscriptionsPath: string;
  /** Where the protected resource metadata is served (RFC 9728: inserted before the hub path). */
  readonly metadataPath: string;
  /** Its absolute URL, for the `resource_metadata` challenge parameter. */
  readonly metadataUrl: string;
  /** Open subscriber streams, in all and per client address, against their limits. */
  readonly streams: StreamLimiter;
  /** The updates each publisher may send per second; undefined when `publishRate` is off (0). */
  readonly publishRate: PublishRateLimiter | undefined;
  /** The time in milliseconds since the epoch (`Date.now`, unless a test controls the clock). */
  readonly now: () => number;
}
