import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { CloseReason } from "../hub/connection.ts";
import {
  CHANNELS,
  type ConnectionClosedMessage,
  type PublishAcknowledgedMessage,
  type ReplaySentMessage,
  type RequestRefusedMessage,
  type TokenRefusedMessage,
  type TransportFailedMessage,
  type UpdateDispatchedMessage,
} from "../hub/diagnostics.ts";
import { reportsHistorySize, type Transport } from "../hub/transport.ts";
import type { ProblemCode } from "../protocol/problems.ts";

/** What a scrape reads besides the events: running totals the hub keeps, read in O(1). */
export interface MetricsSources {
  readonly hub: { readonly waitingBytes: number; readonly writtenBytes: number };
  /** Its history size is reported when it keeps a count (`ReportsHistorySize`). */
  readonly transport?: Transport | undefined;
}

/** Refusals that are authentication or authorization failures, besides the tokens refused. */
const AUTH_REFUSALS: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
  "token_missing",
  "token_malformed_request",
  "insufficient_scope",
  "origin_refused",
]);

const CLOSE_REASONS: readonly CloseReason[] = [
  "client_left",
  "token_expired",
  "max_lifetime",
  "slow_consumer",
  "write_timeout",
  "shutdown",
  "failed",
];

/** Seconds from a publish's arrival to its acknowledgement: 0.5 ms to 10 s. */
const PUBLISH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/**
 * The hub's Prometheus metrics, in a registry of their own (never prom-client's global one, which
 * an embedding application may use). Every value is kept by a counter the diagnostics channels
 * move as things happen, or read from a running total: a scrape never walks the streams, and costs
 * the same with one stream or a hundred thousand.
 *
 * Diagnostics channels are the process's: two hubs in one process that both collect metrics each
 * count the events of both.
 */
export class HubMetrics {
  readonly registry = new Registry();
  readonly #listeners: [string, (message: unknown) => void][] = [];

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    const connected = new Gauge({
      name: "mercure_subscribers_connected",
      help: "Subscriber streams open now",
      registers,
    });
    const subscribers = new Counter({
      name: "mercure_subscribers_total",
      help: "Subscriber streams opened since the hub started",
      registers,
    });
    const updates = new Counter({
      name: "mercure_updates_total",
      help: "Updates published through this hub and acknowledged",
      registers,
    });
    const publishDuration = new Histogram({
      name: "quicksilver_publish_duration_seconds",
      help: "From a publish request's arrival to its acknowledgement (body read, token verified, update stored)",
      buckets: PUBLISH_BUCKETS,
      registers,
    });
    const deliveries = new Counter({
      name: "quicksilver_deliveries_total",
      help: "Updates and subscription events offered to streams, once per stream each reached",
      registers,
    });
    const dispatched = new Counter({
      name: "quicksilver_dispatched_total",
      help: "Updates and subscription events this hub delivered to its streams, by kind",
      labelNames: ["kind"],
      registers,
    });
    new Counter({
      name: "quicksilver_written_bytes_total",
      help: "Bytes written to subscriber streams (events and keep-alives)",
      registers,
      collect() {
        this.reset();
        this.inc(sources.hub.writtenBytes);
      },
    });
    new Gauge({
      name: "quicksilver_queued_bytes",
      help: "Bytes waiting for subscribers across every stream (queued, or held during a replay)",
      registers,
      collect() {
        this.set(sources.hub.waitingBytes);
      },
    });
    const disconnects = new Counter({
      name: "quicksilver_disconnects_total",
      help: "Subscriber streams ended, by reason",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of CLOSE_REASONS) disconnects.inc({ reason }, 0);
    const replays = new Counter({
      name: "quicksilver_replays_total",
      help: "Streams that came with a cursor and were sent a replay",
      registers,
    });
    const replayed = new Counter({
      name: "quicksilver_replayed_updates_total",
      help: "Updates of history sent in replays",
      registers,
    });
    const { transport } = sources;
    if (transport !== undefined && reportsHistorySize(transport)) {
      new Gauge({
        name: "quicksilver_history_updates",
        help: "Updates kept in history now",
        registers,
        collect() {
          this.set(transport.historySize());
        },
      });
    }
    const transportErrors = new Counter({
      name: "quicksilver_transport_errors_total",
      help: "Failures of the transport to store an update or read history, by operation",
      labelNames: ["operation"],
      registers,
    });
    transportErrors.inc({ operation: "publish" }, 0);
    transportErrors.inc({ operation: "replay" }, 0);
    const authFailures = new Counter({
      name: "quicksilver_auth_failures_total",
      help: "Requests refused for their token or its grants, by reason",
      labelNames: ["reason"],
      registers,
    });
    const refusals = new Counter({
      name: "quicksilver_refusals_total",
      help: "Requests refused with a problem document, by code and status",
      labelNames: ["code", "status"],
      registers,
    });
    const limitRefusals = new Counter({
      name: "quicksilver_limit_refusals_total",
      help: "Requests refused by a limit, by the limit's option name",
      labelNames: ["limit"],
      registers,
    });

    this.#listen<{ subscriber: string }>(CHANNELS.connectionOpened, () => {
      connected.inc();
      subscribers.inc();
    });
    this.#listen<ConnectionClosedMessage>(CHANNELS.connectionClosed, (message) => {
      connected.dec();
      disconnects.inc({ reason: message.reason });
    });
    this.#listen<UpdateDispatchedMessage>(CHANNELS.updateDispatched, (message) => {
      deliveries.inc(message.matched);
      dispatched.inc({ kind: message.kind });
    });
    this.#listen<PublishAcknowledgedMessage>(CHANNELS.publishAcknowledged, (message) => {
      updates.inc();
      publishDuration.observe(message.durationMs / 1000);
    });
    this.#listen<ReplaySentMessage>(CHANNELS.replaySent, (message) => {
      replays.inc();
      replayed.inc(message.updates);
    });
    this.#listen<TransportFailedMessage>(CHANNELS.transportFailed, (message) => {
      transportErrors.inc({ operation: message.operation });
    });
    this.#listen<TokenRefusedMessage>(CHANNELS.tokenRefused, (message) => {
      authFailures.inc({ reason: message.reason });
    });
    this.#listen<RequestRefusedMessage>(CHANNELS.requestRefused, (message) => {
      refusals.inc({ code: message.code, status: String(message.status) });
      if (message.limit !== undefined) limitRefusals.inc({ limit: message.limit });
      // A refused token was counted with its reason, from the token channel.
      if (AUTH_REFUSALS.has(message.code)) authFailures.inc({ reason: message.code });
    });
  }

  #listen<T>(name: string, listener: (message: T) => void): void {
    const untyped = listener as (message: unknown) => void;
    subscribe(name, untyped);
    this.#listeners.push([name, untyped]);
  }

  /** Stops listening: the channels lose these subscribers (and the hub, if none is left, its cost). */
  close(): void {
    for (const [name, listener] of this.#listeners.splice(0)) unsubscribe(name, listener);
  }
}
