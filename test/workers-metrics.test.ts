import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { mintToken } from "../src/auth/mint.ts";
import { formHeaders, rawRequest } from "./helpers/auth.ts";
import { parseExposition } from "./helpers/prometheus-text.ts";
import { openStream, subscribeUrl } from "./helpers/sse-client.ts";

// `serve --workers 2 --metrics-listen`: the primary serves the admin listener and sums the
// workers' registries at each scrape.

const BIN = fileURLToPath(new URL("../bin/quicksilver.js", import.meta.url));
const SECRET = "a-secret-that-is-long-enough-for-hs256!!";
const ISSUER = "workers-metrics-test";
const TOPIC = "https://example.com/workers/metrics";

type LogLine = Record<string, unknown> & { msg: string };

describe("metrics with workers", { timeout: 60_000 }, () => {
  it("are every worker's, summed by the primary on its admin listener", async () => {
    const child = spawn(
      process.execPath,
      [
        BIN,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--workers",
        "2",
        "--metrics-listen",
        "127.0.0.1:0",
        "--issuer",
        ISSUER,
        "--publisher-key",
        SECRET,
        "--anonymous",
        "--log-level",
        "debug",
      ],
      { env: { PATH: process.env.PATH ?? "", MERCURE_TRANSPORT: "memory" } },
    );
    const logs: LogLine[] = [];
    let output = "";
    let pending = "";
    let notify = () => {};
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const text of lines) if (text.startsWith("{")) logs.push(JSON.parse(text) as LogLine);
      notify();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    const exited = once(child, "exit");
    const logged = async (msg: string, count: number): Promise<LogLine[]> => {
      for (;;) {
        const found = logs.filter((line) => line.msg === msg);
        if (found.length >= count) return found;
        if (child.exitCode !== null) throw new Error(`the hub exited: ${output}`);
        await new Promise<void>((resolve) => {
          notify = resolve;
        });
      }
    };
    try {
      const [listening] = await logged("hub listening", 1);
      await logged("worker listening", 2);
      const hubUrl = listening!.hubUrl as string;
      const admin = listening!.admin as string;
      assert.match(admin, /^http:\/\/127\.0\.0\.1:\d+$/);

      const streams = [
        await openStream(subscribeUrl(hubUrl, [["match", TOPIC]])),
        await openStream(subscribeUrl(hubUrl, [["match", TOPIC]])),
      ];
      const token = await mintToken({ issuer: ISSUER, audience: hubUrl, key: SECRET, publish: [TOPIC] });
      for (let i = 0; i < 3; i++) {
        const response = await rawRequest(hubUrl, {
          method: "POST",
          headers: formHeaders({ Authorization: `Bearer ${token}`, Connection: "close" }),
          body: new URLSearchParams({ topic: TOPIC, data: String(i) }).toString(),
        });
        assert.equal(response.status, 200, response.body);
      }
      await Promise.all(streams.map((stream) => stream.waitForEvents(3)));

      const response = await fetch(new URL("/metrics", admin));
      assert.equal(response.status, 200);
      const samples = parseExposition(await response.text());
      assert.equal(samples.get("mercure_updates_total"), 3);
      assert.equal(samples.get("mercure_subscribers_connected"), 2);
      assert.equal(samples.get("quicksilver_deliveries_total"), 6);
      // Each worker delivers every update to its own streams: both were asked.
      assert.equal(samples.get('quicksilver_dispatched_total{kind="update"}'), 6);

      const ready = await fetch(new URL("/readyz", admin));
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: "ok", checks: { transport: "ok", shutdown: false } });
      for (const stream of streams) stream.close();
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  });
});
