/**
 * A hub under test, as the harness sees it: where subscribers connect, how to publish, and the
 * processes whose CPU, memory and descriptors are sampled. Each adapter (Quicksilver, Nchan, the
 * naive floor, any Mercure hub given by URL) starts one and stops it.
 */
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
  stop(): Promise<void>;
}

/** How a scenario needs the hub started; a hub without the feature starts without it. */
export interface HubStartOptions {
  /** Keep a history of updates, durably where the hub can (the publish scenario). */
  readonly history?: boolean;
  /** Send a keep-alive comment on silent streams this often (the idle scenario). */
  readonly heartbeatSeconds?: number;
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
