/**
 * Quicksilver under test: a fresh `quicksilver serve` process with no history (the other hubs keep
 * none either) and connection limits lifted so the benchmark, not a 429, sets the ceiling.
 * It speaks draft-08: `match=` to subscribe, a bearer token to publish.
 */
import { mintToken } from "../../src/auth/mint.ts";
import { BENCH_ISSUER, BENCH_SECRET, spawnHub } from "../spawn-hub.ts";
import { stopChild } from "./external-adapter.ts";
import type { Adapter, Target } from "./target.ts";

export const quicksilverAdapter: Adapter = {
  name: "quicksilver",
  async start(): Promise<Target> {
    const { process: child, hubUrl } = await spawnHub([
      "--anonymous",
      "--transport",
      "none",
      "--max-connections-per-client",
      "1000000",
      "--max-connections",
      "1000000",
    ]);
    const url = new URL(hubUrl);
    const port = Number(url.port);
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
      subscribeRequest: (topic) =>
        `GET ${url.pathname}?match=${encodeURIComponent(topic)} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
      publishRequest: (topic, data) => ({
        path: url.pathname,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ topic, data }).toString(),
      }),
      stop: () => stopChild(child, "SIGTERM"),
    };
  },
};
