import cluster from "node:cluster";
import type { ServeConfig } from "../cli/resolve-config.ts";
import type { HealthProbe } from "../http/health-route.ts";
import type { Logger } from "../hub/logger.ts";
import { reportsHealth, type Transport } from "../hub/transport.ts";
import { parseAdminAddress } from "../metrics/admin-address.ts";
import { type AdminListener, startAdminListener } from "../metrics/admin-listener.ts";
import { shareWithPrimary, workersMetrics } from "../metrics/cluster-metrics.ts";
import { metricsEndpoint } from "../metrics/metrics-endpoint.ts";
import { type HubServer, serveHub } from "../server/create-hub-server.ts";
import { openTransport } from "../server/open-transport.ts";
import { IpcTransport } from "./ipc-transport.ts";
import type { Channel, PrimaryMessage, WorkerMessage } from "./messages.ts";
import { StoreRelay } from "./store-relay.ts";
import { type Listening, WorkerSupervisor } from "./supervisor.ts";

/** The dev secret the primary generated, handed to its workers so that they verify the same tokens. */
export const WORKER_DEV_SECRET_ENV = "QUICKSILVER_WORKER_DEV_SECRET";

/** Whether this process is a worker of `serve --workers`. */
export function isWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Where a worker's transport comes from. Without a transport shared by processes of their own
 * (memory, SQLite, none), the primary holds the one store and relays it. A transport that every
 * process opens itself as a node of a cluster (Redis) returns "own" here: each worker then opens
 * the configured transport with `openTransport`, and the primary holds no store, only supervises.
 */
export function storeHolder(config: ServeConfig): "primary" | "own" {
  switch (config.history.transport) {
    case "none":
    case "memory":
    case "sqlite":
      return "primary";
    case "redis":
      return "own";
  }
}

/** The primary of `serve --workers N`: runs no HTTP; holds the store (if relayed) and supervises. */
export interface WorkersPrimary extends Listening {
  /** The admin listener's `http://host:port` (`--metrics-listen`), when there is one. */
  readonly adminOrigin: string | undefined;
  /** Stops the workers gracefully (their streams end, their subscriptions are announced ended), then the store. */
  close(): Promise<void>;
}

/**
 * Starts `config.workers` worker processes serving one port as one hub. `onCrashLoop` is told
 * when workers crash too often to go on; the caller then closes the hub and exits.
 */
export async function serveWorkersPrimary(
  config: ServeConfig,
  logger: Logger,
  onCrashLoop: (reason: string) => void,
): Promise<WorkersPrimary> {
  // Parsed first: a wrong address stops the start before any worker is forked.
  const adminAddress =
    config.metricsListen === undefined
      ? undefined
      : parseAdminAddress(config.metricsListen, "--metrics-listen");
  const store =
    storeHolder(config) === "primary"
      ? await openTransport(config.history, config.subscriptionHistorySize, logger)
      : undefined;
  const relay = store === undefined ? undefined : new StoreRelay(store, logger);
  const supervisor = new WorkerSupervisor({
    count: config.workers,
    logger,
    env: config.devSecret === undefined ? {} : { [WORKER_DEV_SECRET_ENV]: config.devSecret },
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    attach: (channel, nodeId) => relay?.attach(channel, nodeId) ?? (async () => {}),
    onCrashLoop,
  });
  let listening: Listening;
  let admin: AdminListener | undefined;
  let closing = false;
  try {
    listening = await supervisor.start();
    if (adminAddress !== undefined) {
      // The primary's own readiness: not shutting down, and the store it relays usable. Each
      // worker's /readyz, on the public port, speaks for that worker.
      const health: HealthProbe = {
        get closing() {
          return closing;
        },
        get storeFailure() {
          const health = store !== undefined && reportsHealth(store) ? store.health() : undefined;
          return health === undefined || health.healthy ? undefined : health.reason;
        },
        connectionCount: undefined,
      };
      admin = await startAdminListener(adminAddress, {
        metrics: metricsEndpoint(workersMetrics(), logger),
        health,
      });
    }
  } catch (error) {
    await supervisor.stop();
    await relay?.close();
    throw error;
  }
  return {
    ...listening,
    adminOrigin: admin?.origin,
    async close() {
      closing = true;
      await supervisor.stop();
      await relay?.close();
      await admin?.close();
    },
  };
}

/**
 * A worker of `serve --workers N`: serves HTTP on the shared port over its transport, tells the
 * primary where it listens, closes gracefully when the primary asks, and exits when the primary is
 * gone rather than serve without a store.
 */
export async function serveWorker(
  config: ServeConfig,
  logger: Logger,
  name: (flag: string) => string,
): Promise<HubServer> {
  const channel = process as unknown as Channel;
  const transport: Transport =
    storeHolder(config) === "primary"
      ? await IpcTransport.open(channel)
      : await openTransport(config.history, config.subscriptionHistorySize, logger);
  // The primary serves the admin listener, with every worker's metrics.
  const running = await serveHub(config, { logger, transport, name, adminListener: false });
  if (running.metrics !== undefined) shareWithPrimary(running.metrics.registry);
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "worker shutdown failed");
        process.exit(1);
      },
    );
  };
  channel.on("message", (message) => {
    if ((message as PrimaryMessage).t === "shutdown") close();
  });
  channel.on("disconnect", () => {
    if (closing) return;
    logger.error({}, "the primary process is gone: this worker stops");
    process.exit(1);
  });
  // A terminal's Ctrl-C reaches every process of the group: the primary coordinates the shutdown.
  process.on("SIGINT", () => {});
  process.once("SIGTERM", close);
  channel.send({
    t: "listening",
    hubUrl: running.hubUrl,
    resourceIdentifier: running.resourceIdentifier,
  } satisfies WorkerMessage);
  logger.debug({ pid: process.pid, hubUrl: running.hubUrl }, "worker listening");
  return running;
}
