/**
 * A hub under test, as the harness sees it: where subscribers connect, how to publish, and the
 * processes whose CPU, memory and descriptors are sampled. Each adapter (Quicksilver, Nchan, the
 * naive floor, any Mercure hub given by URL) starts one and stops it.
 */
import type { AppendFsync, RedisConfig } from "./redis-server.ts";

export interface Target {
  /** The hub's name in the results table. */
  readonly name: string;
  /** The loopback port subscribers and publishers connect to. */
  readonly port: number;
  /** The raw HTTP/1.1 request (head only, ending in a blank line) that subscribes to `topic`. */
  subscribeRequest(topic: string): string;
  /**
   * The request that subscribes to a URL Pattern (draft-08 `match_urlpattern=`), for hubs
   * that route on patterns; undefined for channel servers, which only know exact names.
   */
  readonly subscribePatternRequest?: (pattern: string) => string;
  /** The URL, headers and body of one publish of `data` to `topic`. */
  publishRequest(
    topic: string,
    data: string,
  ): { path: string; headers: Record<string, string>; body: string };
  /** The hub's processes (the root of its process tree). */
  readonly pid: number;
  /**
   * The processes of a cluster (`HubStartOptions.cluster`), each a hub on its own port, as
   * separate nodes behind a load balancer are: this target is the first of them.
   */
  readonly nodes?: readonly Target[];
  /** The Redis a cluster shares, measured apart from the hubs. */
  readonly redis?: { readonly pid: number; readonly config: RedisConfig };
  stop(): Promise<void>;
}

/** How a scenario needs the hub started; a hub without the feature starts without it. */
export interface HubStartOptions {
  /** Keep a history of updates, durably where the hub can (the publish scenario). */
  readonly history?: boolean;
  /** Send a keep-alive comment on silent streams this often (the idle scenario). */
  readonly heartbeatSeconds?: number;
  /** Serve cleartext HTTP/2 (h2c) beside HTTP/1.1 on the port (h2fanout). */
  readonly h2c?: boolean;
  /** One port served by a primary and this many worker processes (`--workers`; capacity). */
  readonly workers?: number | "auto";
  /**
   * Several processes, each on its own port, sharing one Redis whose append-only file is synced
   * as `redis` says; without `redis`, one process with its memory transport (cluster).
   */
  readonly cluster?: { readonly nodes: number; readonly redis?: AppendFsync };
}

/** Every process of a hub under test: a cluster's nodes and its Redis, or the one tree. */
export function hubPids(target: Target): number[] {
  const nodes = target.nodes ?? [target];
  return [...nodes.map((node) => node.pid), ...(target.redis === undefined ? [] : [target.redis.pid])];
}

export interface Adapter {
  readonly name: string;
  /**
   * Throws MissingCommandError (required-command.ts) when a program the hub needs is not
   * installed: run.ts checks every hub of a run before its first case.
   */
  check?(): void;
  /** Starts a fresh hub on a free loopback port. */
  start(options?: HubStartOptions): Promise<Target>;
}
