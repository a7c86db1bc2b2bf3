/**
 * The Redis a cluster of hubs under test shares: a `redis-server` found on PATH, started by the
 * harness on a free loopback port in a directory of its own, with a stated configuration, and
 * measured apart from the hubs (its CPU is the cost of the cluster's seam).
 */
import { startRedisServer } from "../../test/helpers/redis-server.ts";
import { requireCommand } from "./required-command.ts";

/** When Redis syncs its append-only file to disk: on every write, or once a second. */
export type AppendFsync = "always" | "everysec";

/** The configuration a run states in its results, beside its figures. */
export interface RedisConfig {
  /** Always kept: a Redis a cluster relies on keeps what it acknowledged. */
  readonly appendonly: "yes";
  readonly appendfsync: AppendFsync;
  /** No RDB snapshots: they would fork and write in the middle of a measurement. */
  readonly save: "";
}

export interface BenchRedis {
  readonly port: number;
  readonly pid: number;
  /** `redis://127.0.0.1:<port>/0` (no password: loopback only, a throwaway server). */
  readonly url: string;
  readonly config: RedisConfig;
  stop(): Promise<void>;
}

/** Throws MissingCommandError when redis-server is not on PATH. */
export function requireRedis(hub: string): void {
  requireCommand(hub, "redis-server", "Redis for its cluster cases", "apt-get install redis-server");
}

export function redisConfig(appendfsync: AppendFsync): RedisConfig {
  return { appendonly: "yes", appendfsync, save: "" };
}

export async function startRedis(hub: string, appendfsync: AppendFsync): Promise<BenchRedis> {
  requireRedis(hub);
  const config = redisConfig(appendfsync);
  const server = await startRedisServer({ appendOnly: true, settings: { appendfsync, save: config.save } });
  return { port: server.port, pid: server.pid!, url: `${server.url}/0`, config, stop: () => server.stop() };
}
