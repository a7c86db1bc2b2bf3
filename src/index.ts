/**
 * Quicksilver as a library: embed a hub in your own server, or build on its parts.
 *
 * `startHub` runs the same hub as `quicksilver serve`; `Hub` with a `Transport` and
 * `createRequestHandler` let an application mount the hub in its own `node:http` server.
 */
export type { Grants, SubscribeGrant } from "./auth/grants.ts";
export { type MintOptions, mintToken } from "./auth/mint.ts";
export {
  ConfigError,
  createVerifier,
  InvalidTokenError,
  type IssuerConfig,
  type KeyConfig,
  type Role,
  type TokenVerifier,
  type VerifierOptions,
} from "./auth/verifier.ts";
export { resolveServeConfig, type ServeConfig, UsageError } from "./cli/resolve-config.ts";
export { type RunningHub, startHub } from "./cli/start-hub.ts";
export { ConnectionDrain } from "./http/connection-drain.ts";
export { ConnectionGuard, type SocketLimits } from "./http/connection-guard.ts";
export { OriginAllowlist } from "./http/cors.ts";
export { DEFAULT_LIMITS, type HttpLimits, type HttpOptions } from "./http/options.ts";
export { createContext, createRequestHandler } from "./http/router.ts";
export type { CloseReason, Connection } from "./hub/connection.ts";
export { Hub, type HubOptions, type SubscribeRequest } from "./hub/hub.ts";
export type { Logger } from "./hub/logger.ts";
export type { StreamSink } from "./hub/stream-sink.ts";
export type { Replay, Transport } from "./hub/transport.ts";
export { TransportError } from "./hub/transport-error.ts";
export { createUpdate, type Update } from "./hub/update.ts";
export { compileMatcher } from "./matching/compile.ts";
export { InvalidMatcherError, type MatchType, type TopicMatcher } from "./matching/matcher.ts";
export { PROBLEMS, type ProblemCode, ProtocolError } from "./protocol/problems.ts";
export { QuicksilverError } from "./protocol/quicksilver-error.ts";
export { type SseEvent, SseParser } from "./protocol/sse-parser.ts";
export { MemoryTransport, type MemoryTransportOptions } from "./transports/memory.ts";
