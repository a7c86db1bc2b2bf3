import type { Server } from "node:net";

/**
 * Watches subscribe responses from the server's side, so a test can wait until the hub has seen a
 * stream close (a client going away is noticed by the server some time after the client closed:
 * waiting for this, not for a duration, keeps tests free of sleeps).
 */
export interface ResponseWatcher {
  /** Subscribe responses (GET or QUERY on the hub path) that closed so far. */
  readonly closed: number;
  /** Resolves once `count` subscribe responses have closed in total. */
  waitForClosed(count: number): Promise<void>;
  stop(): void;
}

export function watchSubscribeResponses(server: Server, hubPath = "/.well-known/mercure"): ResponseWatcher {
  let closed = 0;
  let waiters: (() => void)[] = [];
  // The hub's own 'close' listeners on the response run in the same emit as this one: by the time
  // a waiter's continuation runs (a microtask), the hub has forgotten the stream.
  const onRequest = (
    req: { method?: string; url?: string },
    res: { once(e: "close", f: () => void): void },
  ) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== hubPath || (req.method !== "GET" && req.method !== "QUERY")) return;
    res.once("close", () => {
      closed++;
      const current = waiters;
      waiters = [];
      for (const wake of current) wake();
    });
  };
  server.on("request", onRequest);
  return {
    get closed() {
      return closed;
    },
    waitForClosed: (count) =>
      new Promise((resolve) => {
        const check = () => {
          if (closed >= count) resolve();
          else waiters.push(check);
        };
        check();
      }),
    stop: () => server.off("request", onRequest),
  };
}
