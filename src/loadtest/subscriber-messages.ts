/**
 * What the coordinator of a load test and its subscriber processes (subscriber-process.ts) say
 * to each other over IPC. Each command gets exactly one answer, of the same `op`.
 */
import type { HistogramSnapshot } from "./latency-histogram.ts";

/** Where the subscribers connect, and what each sends once connected. */
export interface OpenCommand {
  readonly op: "open";
  readonly host: string;
  readonly port: number;
  /** Connect over TLS (an https hub URL), checking the certificate against `host`. */
  readonly tls: boolean;
  /** The raw subscribe request head every subscriber sends. */
  readonly request: string;
  readonly count: number;
}

/** A command from the coordinator. */
export type SubscriberCommand =
  | OpenCommand
  /** How the subscribers stand; `warm` counts those that saw warm-up event `sequence`. */
  | { readonly op: "status"; readonly sequence: number }
  /** Starts the counts (events, latencies) from zero: measuring begins. */
  | { readonly op: "reset" }
  | { readonly op: "report" }
  | { readonly op: "close" };

/** A subscriber process's answer. */
export type SubscriberMessage =
  | {
      readonly op: "open";
      readonly connected: number;
      /** Connection failures, by error message. */
      readonly errors: Record<string, number>;
    }
  | {
      readonly op: "status";
      readonly sockets: number;
      /** Subscribers answered 200. */
      readonly accepted: number;
      /** Subscribers answered otherwise, by status line without its HTTP version. */
      readonly refused: Record<string, number>;
      /** Subscribers closed before their status line arrived. */
      readonly closedUnanswered: number;
      /** Accepted subscribers that saw the warm-up event asked about, or a later one. */
      readonly warm: number;
    }
  | { readonly op: "reset" }
  | {
      readonly op: "report";
      /** Events received by accepted subscribers since the reset. */
      readonly events: number;
      /** Accepted subscribers whose stream ended. */
      readonly closedEarly: number;
      readonly latencies: HistogramSnapshot;
    };
