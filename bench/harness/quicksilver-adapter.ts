/**
 * Quicksilver under test: a fresh `quicksilver serve` process with no history (the other hubs keep
 * none either) unless the case asks for it, and connection limits lifted so the benchmark, not a
 * 429, sets the ceiling. It speaks draft-08: `match=` to subscribe, a bearer token to publish.
 *
 * A case may ask for worker processes behind the one port (`--workers`), or for a cluster:
 * several processes on ports of their own sharing one Redis the harness starts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken } from "../../src/auth/mint.ts";
import { subscribePatternRequest, subscribeRequest } from "../../src/loadtest/subscribe-request.ts";
import { BENCH_ISSUER, BENCH_SECRET, spawnHub } from "../spawn-hub.ts";
import { stopChild } from "./external-adapter.ts";
import { type BenchRedis, startRedis } from "./redis-server.ts";
import type { Adapter, HubStartOptions, Target } from "./target.ts";

/**
 * Every descriptor of a process for streams: the scenarios hold up to 19,000 subscribers per
 * process, more than the default socket limit keeps clear of the descriptor limit (20,000 here).
 * With `--workers` the limits are each worker's.
 */
const CONNECTION_LIMITS = [
  "--max-sockets",
  "19900",
  "--max-sockets-per-client",
  "19900",
  "--max-connections-per-client",
  "19900",
  "--max-connections",
  "19900",
];

export const quicksilverAdapter: Adapter = {
  name: "quicksilver",
  async start(options = {}): Promise<Target> {
    if (options.cluster !== undefined) return startCluster(options.cluster);
    const dataDir = options.history ? mkdtempSync(join(tmpdir(), "quicksilver-bench-")) : undefined;
    // Durable history as `serve` keeps it by default (sqlite, full durability), or none at all.
    const transport = dataDir === undefined ? "none" : `sqlite:${join(dataDir, "history.db")}`;
    const node = await startNode(transport, options);
    return {
      ...node,
      async stop() {
        await node.stop();
        if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

/** One `quicksilver serve` process (with its workers, if any) on a free port. */
async function startNode(transport: string, options: HubStartOptions): Promise<Target> {
  const { process: child, hubUrl } = await spawnHub([
    "--anonymous",
    "--transport",
    transport,
    ...(options.heartbeatSeconds === undefined ? [] : ["--heartbeat", `${options.heartbeatSeconds}s`]),
    ...(options.workers === undefined ? [] : ["--workers", String(options.workers)]),
    ...(options.h2c === true ? ["--h2c"] : []),
    ...CONNECTION_LIMITS,
  ]);
  const url = new URL(hubUrl);
  const port = Number(url.port);
  const endpoint = { port, path: url.pathname };
  const token = await mintToken({
    issuer: BENCH_ISSUER,
    audience: hubUrl,
    key: BENCH_SECRET,
    publish: ["*"],
  });
  return {
    name: "quicksilver",
    port,
    pid: child.pid!,
    subscribeRequest: (topic) => subscribeRequest(endpoint, "draft", topic),
    subscribePatternRequest: (pattern) => subscribePatternRequest(endpoint, pattern),
    publishRequest: (topic, data) => ({
      path: url.pathname,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ topic, data }).toString(),
    }),
    stop: () => stopChild(child, "SIGTERM"),
  };
}

/**
 * `nodes` processes, each on its own port, sharing one Redis (`--transport redis://…`), or one
 * process with its memory transport when no Redis is asked for: the baseline the cost of Redis
 * is read against.
 */
async function startCluster(cluster: NonNullable<HubStartOptions["cluster"]>): Promise<Target> {
  if (cluster.redis === undefined && cluster.nodes !== 1)
    throw new Error("processes without Redis share nothing: a cluster of more than one needs Redis");
  const redis: BenchRedis | undefined =
    cluster.redis === undefined ? undefined : await startRedis("quicksilver", cluster.redis);
  const nodes: Target[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  };
  try {
    for (let i = 0; i < cluster.nodes; i++) nodes.push(await startNode(redis?.url ?? "memory", {}));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    ...nodes[0]!,
    nodes,
    ...(redis === undefined ? {} : { redis: { pid: redis.pid, config: redis.config } }),
    stop,
  };
}
