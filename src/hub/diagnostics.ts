import { channel } from "node:diagnostics_channel";
import type { InvalidTokenCode } from "../auth/errors.ts";
import type { Role } from "../auth/verifier.ts";
import type { ProblemCode } from "../protocol/problems.ts";
import type { CloseReason } from "./connection.ts";
import type { TransportErrorCode } from "./transport-error.ts";

/**
 * What the hub tells whoever listens (metrics, a debug UI, a test) without knowing them: each
 * event goes to a `node:diagnostics_channel` channel. Publishing to a channel nobody subscribes
 * to costs one property read, so the hot path pays nothing until someone listens.
 *
 *     import { subscribe } from "node:diagnostics_channel";
 *     subscribe("quicksilver:update:dispatched", (message) => count(message.matched));
 *
 * The names and message shapes are public API (docs/diagnostics.md).
 */
export const CHANNELS = {
  connectionOpened: "quicksilver:connection:opened",
  connectionClosed: "quicksilver:connection:closed",
  updateDispatched: "quicksilver:update:dispatched",
  publishRefused: "quicksilver:publish:refused",
  publishAcknowledged: "quicksilver:publish:acknowledged",
  replaySent: "quicksilver:replay:sent",
  transportFailed: "quicksilver:transport:failed",
  tokenRefused: "quicksilver:token:refused",
  requestRefused: "quicksilver:request:refused",
} as const;

export interface ConnectionOpenedMessage {
  /** The subscriber's random IRI (as in its subscription events). */
  readonly subscriber: string;
  /** How many topic matchers the stream subscribed with. */
  readonly matchers: number;
  /** Whether it reconnected with a cursor (and was sent a replay). */
  readonly replayed: boolean;
}

export interface ConnectionClosedMessage {
  readonly subscriber: string;
  readonly reason: CloseReason;
}

export interface UpdateDispatchedMessage {
  readonly id: string;
  /** `update` for a published update, `subscription` for a subscription event. */
  readonly kind: "update" | "subscription";
  readonly private: boolean;
  /** How many streams the update was offered to. */
  readonly matched: number;
}

export interface PublishRefusedMessage {
  /** The problem code the publisher was answered with (docs/errors.md). */
  readonly code: ProblemCode;
  readonly status: number;
}

export interface PublishAcknowledgedMessage {
  /** The id the update was stored with. */
  readonly id: string;
  /** From the request's arrival to its acknowledgement (the answer sent), in milliseconds. */
  readonly durationMs: number;
}

export interface ReplaySentMessage {
  readonly subscriber: string;
  /** How many updates the replay sent the stream. */
  readonly updates: number;
}

export interface TransportFailedMessage {
  /** What the hub asked of its transport: store an update, or read history for a replay. */
  readonly operation: "publish" | "replay";
  /** The error's code (`transport_failed`, docs/errors.md). */
  readonly code: TransportErrorCode;
}

export interface TokenRefusedMessage {
  /** What the token was presented for. */
  readonly role: Role;
  /** Why it was refused: an `InvalidTokenError` code (docs/errors.md). */
  readonly reason: InvalidTokenCode | "invalid";
}

export interface RequestRefusedMessage {
  /** The problem code the client was answered with (docs/errors.md). */
  readonly code: ProblemCode;
  readonly status: number;
  /** The option whose limit refused it (`maxConnections`, `maxSockets`, …), when a limit did. */
  readonly limit?: string;
}

export const connectionOpened = channel(CHANNELS.connectionOpened);
export const connectionClosed = channel(CHANNELS.connectionClosed);
export const updateDispatched = channel(CHANNELS.updateDispatched);
export const publishRefused = channel(CHANNELS.publishRefused);
export const publishAcknowledged = channel(CHANNELS.publishAcknowledged);
export const replaySent = channel(CHANNELS.replaySent);
export const transportFailed = channel(CHANNELS.transportFailed);
export const tokenRefused = channel(CHANNELS.tokenRefused);
export const requestRefused = channel(CHANNELS.requestRefused);
