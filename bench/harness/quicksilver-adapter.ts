/**
 * Quicksilver under test: a fresh `quicksilver serve` process with no history (the other hubs keep
 * none either) unless the case asks for it, and connection limits lifted so the benchmark, not a
 * 429, sets the ceiling. It speaks draft-08: `match=` to subscribe, a bearer token to publish.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken } from "../../src/auth/mint.ts";
import { BENCH_ISSUER, BENCH_SECRET, spawnHub } from "../spawn-hub.ts";
import { stopChild } from "./external-adapter.ts";
import { subscribePatternRequest, subscribeRequest } from "./subscribe-request.ts";
import type { Adapter, Target } from "./target.ts";

export const quicksilverAdapter: Adapter = {
  name: "quicksilver",
  async start(options = {}): Promise<Target> {
    const dataDir = options.history ? mkdtempSync(join(tmpdir(), "quicksilver-bench-")) : undefined;
    const { process: child, hubUrl } = await spawnHub([
      "--anonymous",
      "--transport",
      // Durable history as `serve` keeps it by default (sqlite, full durability), or none at all.
      dataDir === undefined ? "none" : `sqlite:${join(dataDir, "history.db")}`,
      ...(options.heartbeatSeconds === undefined ? [] : ["--heartbeat", `${options.heartbeatSeconds}s`]),
      // Every descriptor for streams: the scenarios hold up to 19,000 subscribers, more than the
      // default socket limit keeps clear of the descriptor limit (20,000 here).
      "--max-sockets",
      "19900",
      "--max-sockets-per-client",
      "19900",
      "--max-connections-per-client",
      "19900",
      "--max-connections",
      "19900",
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
      async stop() {
        await stopChild(child, "SIGTERM");
        if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};
