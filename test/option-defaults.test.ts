import assert from "node:assert/strict";
import type { Server as HttpServer } from "node:http";
import { describe, it } from "node:test";
import { DEFAULT_VERIFIER_LIMITS } from "../src/auth/verifier.ts";
import { resolveServeConfig } from "../src/cli/resolve-config.ts";
import { createHubServer, UsageError } from "../src/index.ts";
import { createHubServer as frontDoor } from "../src/server/create-hub-server.ts";
import { SERVE_OPTIONS } from "../src/server/option-table.ts";
import { valueAt } from "../src/server/options.ts";
import { resolveHubServerOptions } from "../src/server/resolve-options.ts";
import { DEFAULT_SUBSCRIPTION_HISTORY_SIZE } from "../src/transports/memory.ts";

const SECRET = "a-secret-that-is-long-enough-for-hs256!!";
const ISSUERS = [{ issuer: "https://app.test", publisher: { key: SECRET }, subscriber: { key: SECRET } }];
/** Enough descriptors that no socket limit lowers a stream limit's default. */
const DESCRIPTORS = 1_048_576;
/** The table's defaults by flag. */
const DEFAULTS = Object.fromEntries(SERVE_OPTIONS.map((spec) => [spec.flag, spec.default]));
const WITH_DEFAULTS = SERVE_OPTIONS.filter((spec) => spec.target !== undefined && spec.default !== undefined);

/** The options that apply only to a redis history, checked on one. */
const REDIS_ONLY = new Set(["history.keyPrefix", "history.leaseMs"]);

describe("every documented default is the one that takes effect", () => {
  it("has options to check", () => {
    assert.ok(WITH_DEFAULTS.length >= 30, `${WITH_DEFAULTS.length} options with a default and a target`);
  });

  it("in quicksilver serve, with no option given", () => {
    const config = resolveServeConfig(
      { issuer: "https://app.test", "publisher-key": SECRET },
      { HOME: "/home/someone" },
      { descriptors: DESCRIPTORS },
    );
    const redis = resolveServeConfig(
      { issuer: "https://app.test", "publisher-key": SECRET, transport: "redis://localhost:6379" },
      {},
      { descriptors: DESCRIPTORS },
    );
    for (const spec of WITH_DEFAULTS) {
      const effective = REDIS_ONLY.has(spec.target as string) ? redis : config;
      assert.deepEqual(valueAt(effective, spec.target as string), spec.default, `--${spec.flag}`);
    }
    const memory = resolveServeConfig(
      { issuer: "https://app.test", "publisher-key": SECRET, transport: "memory" },
      {},
      { descriptors: DESCRIPTORS },
    );
    const size = SERVE_OPTIONS.find((spec) => spec.flag === "history-size");
    assert.equal(valueAt(memory, "history.maxCount"), size?.memoryDefault);
  });

  it("in createHubServer, with only the issuers given", () => {
    const { config } = resolveHubServerOptions({ issuers: ISSUERS }, DESCRIPTORS);
    const { config: sqlite } = resolveHubServerOptions(
      { issuers: ISSUERS, history: { transport: "sqlite", path: "/tmp/never-opened.db" } },
      DESCRIPTORS,
    );
    const { config: redis } = resolveHubServerOptions(
      { issuers: ISSUERS, history: { transport: "redis", url: "redis://localhost:6379" } },
      DESCRIPTORS,
    );
    for (const spec of WITH_DEFAULTS) {
      const target = spec.target as string;
      if (target === "history.transport") {
        // An embedded hub writes no file unless told where: its history is in memory.
        assert.equal(config.history.transport, "memory");
        continue;
      }
      const effective = REDIS_ONLY.has(target) ? redis : target.startsWith("history.") ? sqlite : config;
      assert.deepEqual(valueAt(effective, target), spec.default, `${target} (--${spec.flag})`);
    }
    const size = SERVE_OPTIONS.find((spec) => spec.flag === "history-size");
    assert.equal(valueAt(config, "history.maxCount"), size?.memoryDefault);
    assert.deepEqual([config.host, config.port], ["localhost", 3000], "--listen's default");
  });

  it("has a table entry for every option that takes effect, but those composed from several", () => {
    const { config } = resolveHubServerOptions(
      { issuers: ISSUERS, history: { transport: "sqlite", path: "/tmp/never-opened.db" } },
      DESCRIPTORS,
    );
    const composed = ["host", "port", "issuers", "history.path"];
    const targets = new Set(SERVE_OPTIONS.map((spec) => spec.target));
    const fields = Object.entries(config).flatMap(([key, value]) =>
      typeof value === "object" && value !== null && !Array.isArray(value)
        ? Object.keys(value).map((field) => `${key}.${field}`)
        : [key],
    );
    assert.deepEqual(
      fields.filter((field) => !targets.has(field as never) && !composed.includes(field)),
      [],
    );
  });

  it("agrees with the defaults the hub's parts keep for direct use", () => {
    const { config } = resolveHubServerOptions({ issuers: ISSUERS }, DESCRIPTORS);
    assert.equal(config.subscriptionHistorySize, DEFAULT_SUBSCRIPTION_HISTORY_SIZE);
    assert.deepEqual(
      { ...config.tokens, maxPatternLength: config.limits.maxPatternLength },
      { ...DEFAULT_VERIFIER_LIMITS },
    );
  });

  it("on a running server started with only the issuers", async () => {
    const started = await createHubServer({ issuers: ISSUERS, host: "127.0.0.1", port: 0 });
    try {
      const { port } = started.server.address() as { port: number };
      assert.equal(started.hubUrl, `http://127.0.0.1:${port}/.well-known/mercure`);
      assert.equal(started.resourceIdentifier, started.hubUrl);
      assert.equal((started.server as HttpServer).headersTimeout, DEFAULTS["headers-timeout"]);
      const response = await fetch(started.hubUrl, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: `topic=a&data=${"x".repeat(1024 * 1024)}`,
      });
      assert.equal(response.status, 413, "the default body limit");
      await response.body?.cancel();
    } finally {
      await started.close();
    }
  });
});

describe("createHubServer checks what it is given", () => {
  const refused: [string, Parameters<typeof frontDoor>[0], RegExp][] = [
    [
      "a heartbeat under 100ms",
      { issuers: ISSUERS, streams: { heartbeatMs: 10 } },
      /^streams\.heartbeatMs must be at least 100ms$/,
    ],
    [
      "a queue smaller than two bodies",
      { issuers: ISSUERS, limits: { maxBodyBytes: 1000 }, streams: { maxQueueBytes: 1500 } },
      /^streams\.maxQueueBytes must be at least twice limits\.maxBodyBytes/,
    ],
    [
      "a limit that is not a whole number",
      { issuers: ISSUERS, limits: { maxTopics: 2.5 } },
      /^limits\.maxTopics takes a whole number of at least 1, got 2\.5$/,
    ],
    ["an origin that is not one", { issuers: ISSUERS, corsOrigins: ["app.example.com"] }, /^corsOrigins: /],
    [
      "more streams than sockets",
      { issuers: ISSUERS, sockets: { maxSockets: 10 }, limits: { maxConnections: 20 } },
      /^limits\.maxConnections 20 is more than sockets\.maxSockets 10/,
    ],
  ];
  for (const [what, options, message] of refused) {
    it(`refuses ${what}, naming the option by its path`, async () => {
      await assert.rejects(frontDoor({ ...options, port: 0, host: "127.0.0.1" }), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.equal(error.code, "usage_invalid");
        assert.match(error.message, message);
        return true;
      });
    });
  }
});

describe("the shutdown spread", () => {
  const base = { issuer: "https://app.test", "publisher-key": SECRET };
  it("defaults to at most half of a short shutdown timeout", () => {
    const config = resolveServeConfig(
      { ...base, "shutdown-timeout": "2s" },
      {},
      { descriptors: DESCRIPTORS },
    );
    assert.equal(config.shutdownSpreadMs, 1000);
    const { config: library } = resolveHubServerOptions(
      { issuers: ISSUERS, shutdownTimeoutMs: 2000 },
      DESCRIPTORS,
    );
    assert.equal(library.shutdownSpreadMs, 1000);
  });

  it("must be less than the shutdown timeout", () => {
    assert.throws(
      () =>
        resolveServeConfig(
          { ...base, "shutdown-timeout": "2s", "shutdown-spread": "2s" },
          {},
          { descriptors: DESCRIPTORS },
        ),
      { message: "--shutdown-spread must be less than --shutdown-timeout" },
    );
    assert.throws(
      () => resolveHubServerOptions({ issuers: ISSUERS, shutdownSpreadMs: 20_000 }, DESCRIPTORS),
      {
        message: "shutdownSpreadMs must be less than shutdownTimeoutMs",
      },
    );
  });
});
