import assert from "node:assert/strict";
import { channel } from "node:diagnostics_channel";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Connection } from "../src/hub/connection.ts";
import { CHANNELS } from "../src/hub/diagnostics.ts";
import { UsageError } from "../src/server/usage-error.ts";
import { parseExposition } from "./helpers/prometheus-text.ts";
import { openRawStream } from "./helpers/raw-stream.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub } from "./helpers/test-hub.ts";

// Prometheus metrics over real sockets: scraped and parsed after known publishes, subscriptions,
// refusals and disconnects; on the public port with --metrics, on an admin listener with
// --metrics-listen, and not at all without either.

async function scrape(origin: string): Promise<Map<string, number>> {
  const response = await fetch(new URL("/metrics", origin));
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.equal(response.headers.get("cache-control"), "no-store");
  return parseExposition(await response.text());
}

/** Scrapes until `series` reads `value`: the hub counts a closed socket once it sees it close. */
async function scrapeUntil(origin: string, series: string, value: number): Promise<Map<string, number>> {
  let samples = new Map<string, number>();
  for (let attempt = 0; attempt < 200; attempt++) {
    samples = await scrape(origin);
    if (samples.get(series) === value) return samples;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(samples.get(series), value, series);
  return samples;
}

const TOPIC = "https://example.com/metrics";

describe("metrics", { timeout: 60_000 }, () => {
  it("are off by default: no /metrics, nobody listening to the diagnostics channels", async () => {
    const hub = await startTestHub({ anonymous: true });
    try {
      assert.equal(hub.metrics, undefined);
      assert.equal(hub.admin, undefined);
      const response = await fetch(new URL("/metrics", hub.origin));
      assert.equal(response.status, 404);
      for (const name of Object.values(CHANNELS)) {
        assert.equal(channel(name).hasSubscribers, false, `${name} has a subscriber`);
      }
    } finally {
      await hub.close();
    }
  });

  it("count publishes, streams, deliveries, replays, refusals and disconnects (--metrics)", async () => {
    const hub = await startTestHub({ anonymous: true, metrics: true, "max-connections": "3" });
    const streams: Stream[] = [];
    try {
      const token = await hub.token({ publish: ["*"] });
      const a = await openStream(subscribeUrl(hub.hubUrl, [["match", TOPIC]]));
      const b = await openStream(subscribeUrl(hub.hubUrl, [["match", `${TOPIC}/other`]]));
      streams.push(a, b);
      const ids: string[] = [];
      for (const data of ["1", "2", "3"]) {
        const result = await publish(hub, { topic: TOPIC, data }, { token });
        assert.equal(result.status, 200);
        ids.push(result.body);
      }
      await a.waitForEvents(3);
      // A third stream, with a cursor: replays the two updates after the first.
      const c = await openStream(
        subscribeUrl(hub.hubUrl, [
          ["match", TOPIC],
          ["last_event_id", ids[0]!],
        ]),
      );
      streams.push(c);
      await c.waitForEvents(2);
      // A fourth is past max-connections.
      const refused = await fetch(subscribeUrl(hub.hubUrl, [["match", TOPIC]]));
      assert.equal(refused.status, 429);
      await refused.body?.cancel();
      // A forged token, and none at all.
      const forged = await hub.token({ publish: ["*"], key: "another-secret-that-is-long-enough-for-hs256" });
      assert.equal((await publish(hub, { topic: TOPIC, data: "x" }, { token: forged })).status, 401);
      assert.equal((await publish(hub, { topic: TOPIC, data: "x" })).status, 401);
      b.close();

      const samples = await scrapeUntil(hub.origin, 'quicksilver_disconnects_total{reason="client_left"}', 1);
      const expected: Record<string, number> = {
        mercure_subscribers_connected: 2,
        mercure_subscribers_total: 3,
        mercure_updates_total: 3,
        quicksilver_publish_duration_seconds_count: 3,
        // Three updates to stream a; c came after them.
        quicksilver_deliveries_total: 3,
        'quicksilver_dispatched_total{kind="update"}': 3,
        'quicksilver_disconnects_total{reason="slow_consumer"}': 0,
        quicksilver_replays_total: 1,
        quicksilver_replayed_updates_total: 2,
        quicksilver_history_updates: 3,
        'quicksilver_transport_errors_total{operation="publish"}': 0,
        'quicksilver_refusals_total{code="too_many_connections",status="429"}': 1,
        'quicksilver_refusals_total{code="token_invalid",status="401"}': 1,
        'quicksilver_refusals_total{code="token_missing",status="401"}': 1,
        'quicksilver_limit_refusals_total{limit="maxConnections"}': 1,
        'quicksilver_auth_failures_total{reason="verification_failed"}': 1,
        'quicksilver_auth_failures_total{reason="token_missing"}': 1,
      };
      for (const [series, value] of Object.entries(expected)) {
        assert.equal(samples.get(series), value, series);
      }
      assert.ok((samples.get("quicksilver_written_bytes_total") ?? 0) > 0);
      assert.ok(samples.has("quicksilver_queued_bytes"));
      // The process metrics prom-client collects, on the hub's own registry.
      assert.ok(samples.has("process_cpu_user_seconds_total"));
      assert.ok(samples.has("nodejs_eventloop_lag_seconds"));

      for (const stream of streams) stream.close();
      const after = await scrapeUntil(hub.origin, "mercure_subscribers_connected", 0);
      assert.equal(after.get('quicksilver_disconnects_total{reason="client_left"}'), 3);
      assert.equal(after.get("quicksilver_queued_bytes"), 0, "nothing waits for streams that are gone");
    } finally {
      for (const stream of streams) stream.close();
      await hub.close();
    }
  });

  it("count the bytes waiting for a subscriber that reads nothing, until it is cut as a slow consumer", async () => {
    const hub = await startTestHub({
      anonymous: true,
      metrics: true,
      "max-body-bytes": String(1024 * 1024),
      "max-queue-bytes": String(8 * 1024 * 1024),
      "write-timeout": "10m",
    });
    const stream = await openRawStream(subscribeUrl(hub.hubUrl, [["match", TOPIC]]), { read: false });
    try {
      const token = await hub.token({ publish: ["*"] });
      const data = "q".repeat(512 * 1024);
      let waited = 0;
      // The socket's buffers fill first; then the queue grows, until it passes max-queue-bytes.
      for (let i = 0; i < 200; i++) {
        assert.equal((await publish(hub, { topic: TOPIC, data }, { token })).status, 200);
        const samples = await scrape(hub.origin);
        if (samples.get('quicksilver_disconnects_total{reason="slow_consumer"}') === 1) break;
        waited = Math.max(waited, samples.get("quicksilver_queued_bytes") ?? 0);
      }
      assert.ok(waited > 0, "bytes were seen waiting");
      assert.ok(waited <= 8 * 1024 * 1024, `${waited} bytes waited, more than max-queue-bytes`);
      const after = await scrapeUntil(hub.origin, 'quicksilver_disconnects_total{reason="slow_consumer"}', 1);
      assert.equal(after.get("quicksilver_queued_bytes"), 0, "a stream cut leaves nothing waiting");
      assert.equal(after.get("mercure_subscribers_connected"), 0);
    } finally {
      stream.close();
      await hub.close();
    }
  });

  it("report the updates a SQLite history keeps, trimmed to history-size", async () => {
    const directory = mkdtempSync(join(tmpdir(), "quicksilver-metrics-"));
    const hub = await startTestHub({
      metrics: true,
      transport: `sqlite:${join(directory, "history.db")}`,
      "history-size": "2",
    });
    try {
      const token = await hub.token({ publish: ["*"] });
      assert.equal((await scrape(hub.origin)).get("quicksilver_history_updates"), 0);
      for (const data of ["1", "2", "3"]) {
        assert.equal((await publish(hub, { topic: TOPIC, data }, { token })).status, 200);
      }
      assert.equal((await scrape(hub.origin)).get("quicksilver_history_updates"), 2);
    } finally {
      await hub.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("stop listening to the diagnostics channels once the hub closed", async () => {
    const hub = await startTestHub({ anonymous: true, metrics: true });
    assert.equal(channel(CHANNELS.connectionOpened).hasSubscribers, true);
    await hub.close();
    for (const name of Object.values(CHANNELS)) {
      assert.equal(channel(name).hasSubscribers, false, `${name} has a subscriber`);
    }
  });

  it("are served with the health checks on the admin listener, off the public port (--metrics-listen)", async () => {
    const hub = await startTestHub({ anonymous: true, "metrics-listen": "127.0.0.1:0" });
    try {
      assert.ok(hub.admin !== undefined);
      assert.equal((await fetch(new URL("/metrics", hub.origin))).status, 404, "not on the public port");
      const token = await hub.token({ publish: ["*"] });
      assert.equal((await publish(hub, { topic: TOPIC, data: "d" }, { token })).status, 200);
      const samples = await scrape(hub.admin.origin);
      assert.equal(samples.get("mercure_updates_total"), 1);
      for (const path of ["/healthz", "/livez", "/readyz"]) {
        const response = await fetch(new URL(path, hub.admin.origin));
        assert.equal(response.status, 200, path);
        assert.equal(((await response.json()) as { status: string }).status, "ok");
      }
      assert.equal((await fetch(new URL("/.well-known/mercure", hub.admin.origin))).status, 404);
      // While the hub shuts down, the admin listener says so until it closes last.
      await hub.hub.close();
      const ready = await fetch(new URL("/readyz", hub.admin.origin));
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), {
        status: "unavailable",
        checks: { transport: "ok", shutdown: true },
      });
      assert.equal((await fetch(new URL("/livez", hub.admin.origin))).status, 200);
    } finally {
      await hub.close();
    }
  });

  it("refuse a --metrics-listen that is not host:port", async () => {
    await assert.rejects(startTestHub({ "metrics-listen": "127.0.0.1" }), (error: Error) => {
      assert.ok(error instanceof UsageError);
      assert.match(error.message, /metricsListen must be host:port/);
      return true;
    });
  });

  it("cost no per-stream work to scrape, however many streams are open", async () => {
    const hub = await startTestHub({ anonymous: true, metrics: true });
    const streams: Stream[] = [];
    const calls = countConnectionCalls();
    try {
      for (let i = 0; i < 200; i++)
        streams.push(await openStream(subscribeUrl(hub.hubUrl, [["match", TOPIC]])));
      const token = await hub.token({ publish: ["*"] });
      assert.equal((await publish(hub, { topic: TOPIC, data: "d" }, { token })).status, 200);
      await Promise.all(streams.map((stream) => stream.waitForEvents(1)));
      assert.ok(calls.count > 200, "the hook counts the streams' work");
      // Nothing else runs meanwhile: no publish, and heartbeats are 40 s apart by default.
      calls.count = 0;
      const samples = await scrape(hub.origin);
      assert.equal(samples.get("mercure_subscribers_connected"), 200);
      assert.equal(samples.get("quicksilver_deliveries_total"), 200);
      assert.equal(calls.count, 0, "a scrape touched the streams");
    } finally {
      calls.restore();
      for (const stream of streams) stream.close();
      await hub.close();
    }
  });
});

/**
 * Counts every call of a method or getter of Connection, the one object per stream: a scrape
 * that walked the streams would call some (its queue's bytes, its state).
 */
function countConnectionCalls(): { count: number; restore(): void } {
  const counter = { count: 0, restore: () => {} };
  const prototype = Connection.prototype as unknown as Record<string, unknown>;
  const originals = new Map<string, PropertyDescriptor>();
  for (const name of Object.getOwnPropertyNames(prototype)) {
    if (name === "constructor") continue;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, name)!;
    originals.set(name, descriptor);
    if (typeof descriptor.value === "function") {
      const method = descriptor.value as (...args: unknown[]) => unknown;
      Object.defineProperty(prototype, name, {
        ...descriptor,
        value(this: unknown, ...args: unknown[]) {
          counter.count++;
          return method.apply(this, args);
        },
      });
    } else if (descriptor.get !== undefined) {
      const getter = descriptor.get;
      Object.defineProperty(prototype, name, {
        ...descriptor,
        get(this: unknown) {
          counter.count++;
          return getter.call(this);
        },
      });
    }
  }
  counter.restore = () => {
    for (const [name, descriptor] of originals) Object.defineProperty(prototype, name, descriptor);
  };
  return counter;
}
