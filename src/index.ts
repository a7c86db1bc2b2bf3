/**
 * Quicksilver as a library (docs/library.md documents every export; a test keeps the two in step).
 *
 * `createHubServer` runs the hub `quicksilver serve` runs, on its own `node:http` server.
 * `createRequestHandler` mounts one in an application's server instead; `Hub`, a `Transport` and
 * `createVerifier` are its parts. Pure protocol rules are in `quicksilver/protocol`; the transport
 * contract suite in `quicksilver/testing`.
 */

// Tokens
export type { Grants, SubscribeGrant } from "./auth/grants.ts";
export { type MintOptions, mintToken } from "./auth/mint.ts";
export {
  ConfigError,
  type ConfigErrorCode,
  createVerifier,
  type InvalidTokenCode,
  InvalidTokenError,
  type IssuerConfig,
  type KeyConfig,
  type Role,
  type TokenVerifier,
  type VerifierLimits,
  type VerifierOptions,
} from "./auth/verifier.ts";
export { TrustedProxies } from "./http/client-address.ts";
export { OriginAllowlist } from "./http/cors.ts";
// Mounting the hub in an application's own server
export { DEFAULT_LIMITS, type HttpLimits, type HttpOptions } from "./http/options.ts";
export { createContext, createRequestHandler } from "./http/router.ts";
export type { CloseReason, Connection } from "./hub/connection.ts";
// The hub and where its history lives
export { Hub, type HubOptions, type SubscribeRequest } from "./hub/hub.ts";
export type { Logger } from "./hub/logger.ts";
export type { StreamSink } from "./hub/stream-sink.ts";
export type {
  Position,
  Replay,
  ReplayEntry,
  ReportsHealth,
  ReportsHistorySize,
  SharedTransport,
  Transport,
  TransportHealth,
  UpdateListener,
} from "./hub/transport.ts";
export { TransportError } from "./hub/transport-error.ts";
export { createUpdate, type Update } from "./hub/update.ts";
// Topic matchers, as Hub.subscribe takes them
export { compileMatcher } from "./matching/compile.ts";
export { InvalidMatcherError, type MatchType, type TopicMatcher } from "./matching/matcher.ts";
// Errors
export { PROBLEMS, type ProblemCode, ProtocolError } from "./protocol/problems.ts";
export type { PublishFields } from "./protocol/publish-request.ts";
export { QuicksilverError } from "./protocol/quicksilver-error.ts";
// The front door
export { createHubServer, type HubServer } from "./server/create-hub-server.ts";
export type {
  HistoryOptions,
  HubServerOptions,
  LegacyKeys,
  SocketOptions,
  StreamOptions,
  TokenLimits,
} from "./server/options.ts";
export { UsageError } from "./server/usage-error.ts";
export { MemoryTransport, type MemoryTransportOptions } from "./transports/memory.ts";
export { RedisTransport, type RedisTransportOptions } from "./transports/redis.ts";
export {
  type HistoryRetention,
  type SqliteDurability,
  SqliteTransport,
  type SqliteTransportOptions,
} from "./transports/sqlite.ts";
