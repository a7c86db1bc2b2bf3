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
  /** The URL, headers and body of one publish of `data` to `topic`. */
  publishRequest(
    topic: string,
    data: string,
  ): { path: string; headers: Record<string, string>; body: string };
  /** The hub's processes (the root of its process tree). */
  readonly pid: number;
  stop(): Promise<void>;
}

export interface Adapter {
  readonly name: string;
  /** Starts a fresh hub on a free loopback port. */
  start(): Promise<Target>;
}
