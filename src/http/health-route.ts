import type { HttpRequest, HttpResponse } from "./exchange.ts";
import { pathOf } from "./exchange.ts";
import { sendJson } from "./respond.ts";

/**
 * The health checks an orchestrator probes, answered even on a connection past the socket limits:
 *
 * - `/livez`: the process answers at all (its event loop turns). Always 200, shutting down included:
 *   a liveness probe that failed then would have the process killed mid-drain.
 * - `/readyz`: the hub can serve: its transport is usable (no store failure, its Redis reachable and
 *   read) and it is not shutting down. 503 otherwise, with the check that failed.
 * - `/healthz`: the reference hub's name, with the meaning of `/readyz`; its body also counts the
 *   open streams.
 */
export const HEALTH_PATHS = ["/healthz", "/livez", "/readyz"] as const;

type HealthPath = (typeof HEALTH_PATHS)[number];

/** Probes must see the state now, never a cached answer. */
const NO_STORE = { "Cache-Control": "no-store" };

/** Whether a request is a health check (GET or HEAD on one of `HEALTH_PATHS`). */
export function isHealthCheck(req: HttpRequest): boolean {
  return (req.method === "GET" || req.method === "HEAD") && isHealthPath(pathOf(req));
}

export function isHealthPath(path: string): path is HealthPath {
  return (HEALTH_PATHS as readonly string[]).includes(path);
}

/** Whether the hub is ready, and why not, check by check. */
export interface Readiness {
  readonly ready: boolean;
  /** What keeps the transport from storing updates, if anything. */
  readonly storeFailure: string | undefined;
  /** `ok`, or `store_unavailable: <reason>`. */
  readonly transport: string;
  readonly shutdown: boolean;
}

/** What the health checks read: a Hub, or what stands for one (the primary of several workers). */
export interface HealthProbe {
  readonly closing: boolean;
  /** What keeps the transport from storing updates now, if anything. */
  readonly storeFailure: string | undefined;
  /** Open subscriber streams, reported by `/healthz`; undefined where they are not known. */
  readonly connectionCount: number | undefined;
}

export function readinessOf(hub: HealthProbe): Readiness {
  const shutdown = hub.closing;
  // A closing hub closes its transport: its failure then says nothing new.
  const failure = shutdown ? undefined : hub.storeFailure;
  const transport = failure === undefined ? "ok" : `store_unavailable: ${failure}`;
  return { ready: !shutdown && failure === undefined, storeFailure: failure, transport, shutdown };
}

/** Answers a health check (`path` one of `HEALTH_PATHS`). */
export function healthRoute(path: HealthPath, res: HttpResponse, hub: HealthProbe): void {
  if (path === "/livez") {
    sendJson(res, 200, { status: "ok" }, NO_STORE);
    return;
  }
  const readiness = readinessOf(hub);
  if (path === "/readyz") {
    sendJson(
      res,
      readiness.ready ? 200 : 503,
      {
        status: readiness.ready ? "ok" : "unavailable",
        checks: { transport: readiness.transport, shutdown: readiness.shutdown },
      },
      NO_STORE,
    );
    return;
  }
  const { storeFailure } = readiness;
  const status = readiness.shutdown ? "closing" : storeFailure === undefined ? "ok" : "store_unavailable";
  sendJson(
    res,
    readiness.ready ? 200 : 503,
    { status, ...(storeFailure === undefined ? {} : { store: storeFailure }), streams: hub.connectionCount },
    NO_STORE,
  );
}
