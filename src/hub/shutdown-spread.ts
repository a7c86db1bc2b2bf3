import type { Connection } from "./connection.ts";

/**
 * The shortest reconnection delay a closing stream suggests. An EventSource keeps the `retry`
 * it was last given for every later reconnection, hubs down or not: a delay much shorter would
 * have browsers hammer a hub that is away for good.
 */
export const RETRY_FLOOR_MS = 1000;

/** Calls `callback` after `ms` (setTimeout unless a test brings a clock of its own). */
export type SetTimer = (callback: () => void, ms: number) => void;

/**
 * Kept referenced: a close that is awaited must keep the process alive until its streams ended. A
 * script whose last act is `await hub.close()` would otherwise exit mid-shutdown, its streams
 * never ended, once nothing else (a listening server) held the event loop.
 */
export const realTimer: SetTimer = (callback, ms) => {
  setTimeout(callback, ms);
};

export interface SpreadOptions {
  /** The window the ends are spread over, from now; 0 ends every stream at once. */
  readonly windowMs: number;
  /** Uniform in [0, 1), as Math.random. */
  readonly random: () => number;
  readonly setTimer: SetTimer;
}

/** An SSE block holding only a `retry` field: it sets the client's reconnection delay, dispatches nothing. */
export function retryFrame(ms: number): Buffer {
  return Buffer.from(`retry: ${ms}\n\n`);
}

/**
 * Ends the streams of a hub that shuts down without a thundering herd: every stream ends at a
 * moment of its own drawn in the window (until then it keeps receiving what is dispatched), and
 * is first told to wait a reconnection delay of its own, between `RETRY_FLOOR_MS` and that plus
 * the window. Ending them all at once would send every client to the other hubs in the same
 * instant, and each back with a replay to serve.
 *
 * Resolves once every stream was ended (or had ended by itself).
 */
export function spreadStreamEnds(connections: Iterable<Connection>, options: SpreadOptions): Promise<void> {
  const { windowMs, random, setTimer } = options;
  const ending: Promise<void>[] = [];
  for (const connection of connections) {
    if (connection.closed) continue;
    const moment = Math.floor(random() * windowMs);
    const retryMs = RETRY_FLOOR_MS + Math.floor(random() * windowMs);
    if (windowMs === 0) {
      endWithRetry(connection, retryMs);
      continue;
    }
    ending.push(
      new Promise((resolve) =>
        setTimer(() => {
          endWithRetry(connection, retryMs);
          resolve();
        }, moment),
      ),
    );
  }
  return Promise.all(ending).then(() => undefined);
}

function endWithRetry(connection: Connection, retryMs: number): void {
  // A stream whose response has not started cannot carry a field: it is only closed.
  if (connection.started) connection.enqueue(retryFrame(retryMs));
  connection.close("shutdown");
}
