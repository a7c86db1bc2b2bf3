import { channel } from "node:diagnostics_channel";
import type { ProblemCode } from "../protocol/problems.ts";
import type { CloseReason } from "./connection.ts";

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

export const connectionOpened = channel(CHANNELS.connectionOpened);
export const connectionClosed = channel(CHANNELS.connectionClosed);
export const updateDispatched = channel(CHANNELS.updateDispatched);
export const publishRefused = channel(CHANNELS.publishRefused);
