import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as jose from "jose";
import { resolveServeConfig, type ServeConfig, UsageError } from "../src/cli/resolve-config.ts";
import { descriptorLimit } from "../src/server/descriptor-limit.ts";
import { BIN, type Run, runCli } from "./helpers/cli-run.ts";

const SECRET = "a-secret-that-is-long-enough-for-hs256!!";

/** Runs the CLI to completion. */
function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runCli(args, { PATH: process.env.PATH ?? "", MERCURE_TRANSPORT: "memory", ...env });
}

/**
 * Starts `serve` and resolves once it logged that it listens, with its hub URL. It listens on
 * 127.0.0.1, port 0, unless `listen` is false (the environment then says where).
 */
function serve(
  args: string[],
  env: Record<string, string> = {},
  listen = true,
): Promise<{ child: ChildProcess; hubUrl: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const where = listen ? ["--listen", "127.0.0.1:0"] : [];
    const child = spawn(process.execPath, [BIN, "serve", ...where, ...args], {
      env: { PATH: process.env.PATH ?? "", MERCURE_TRANSPORT: "memory", ...env },
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const line = output.split("\n").find((l) => l.includes('"hub listening"'));
      if (line !== undefined) resolve({ child, hubUrl: JSON.parse(line).hubUrl, output: () => output });
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("close", (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners("close");
    child.on("close", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

async function publishWith(hubUrl: string, token: string, topic: string): Promise<Response> {
  return fetch(hubUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ topic, data: "hi" }),
  });
}

describe("quicksilver serve: configuration errors stop the start and say what to fix", () => {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["an unknown option", ["--no-such-option"], {}, /no-such-option/],
    ["no key at all", [], {}, /no key configured.*--publisher-key.*--dev/],
    [
      "a key without an issuer when the legacy dialect is off",
      ["--publisher-key", SECRET],
      { MERCURE_LEGACY: "0" },
      /no issuer.*--issuer.*--legacy/,
    ],
    [
      "an HMAC algorithm with a PEM key",
      ["--issuer", "i", `--publisher-key=${pem}`, "--publisher-alg", "HS256"],
      {},
      /HS256/,
    ],
    [
      "an HMAC algorithm with a PEM key from the environment",
      ["--publisher-alg", "HS256"],
      { MERCURE_PUBLISHER_JWT_KEY: pem, MERCURE_TRUSTED_ISSUERS: "i" },
      /HS256.*PEM|PEM.*HS256/,
    ],
    ["a short HMAC secret", ["--issuer", "i", "--publisher-key", "short"], {}, /openssl rand/],
    [
      "an unknown algorithm",
      ["--issuer", "i", "--publisher-key", SECRET, "--publisher-alg", "HS999"],
      {},
      /HS999/,
    ],
    [
      "* as a publish origin, saying why",
      ["--dev", "--publish-origins", "*"],
      {},
      /publish-origins.*\*.*cross-site request forgery/,
    ],
    ["a bad duration", ["--dev", "--heartbeat", "soon"], {}, /--heartbeat.*duration/],
    ["a bad number from the environment", ["--dev"], { MERCURE_MAX_TOPICS: "many" }, /--max-topics/],
  ];
  for (const [what, args, env, message] of cases) {
    it(`refuses ${what}`, async () => {
      const result = await run(["serve", "--listen", "127.0.0.1:0", ...args], env);
      assert.equal(result.code, 2, result.stderr + result.stdout);
      assert.match(result.stderr, /^quicksilver: /);
      assert.match(result.stderr, message);
    });
  }

  it("refuses a config file that is not JSON without quoting it: it holds keys", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qs-cli-"));
    const file = join(dir, "hub.json");
    const secret = "s3cret-0123456789-abcdefghijklmnop";
    // The trailing comma is an error next to the secret, which the parser would quote around it.
    writeFileSync(file, `{"issuers":[{"issuer":"https://app.test","publisher":{"key":"${secret}"}},]}`);
    const result = await run(["serve", "--listen", "127.0.0.1:0", "--config", file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /not valid JSON/);
    for (let start = 0; start + 4 <= secret.length; start++) {
      assert.ok(!result.stderr.includes(secret.slice(start, start + 4)), result.stderr);
    }
  });

  it("refuses an unknown key in the config file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qs-cli-"));
    const file = join(dir, "hub.json");
    writeFileSync(file, JSON.stringify({ dev: true, heartBeat: "1s" }));
    const result = await run(["serve", "--listen", "127.0.0.1:0", "--config", file]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown key heartBeat/);
  });
});

describe("quicksilver serve --dev", () => {
  it("prints tokens that work, and a hub that accepts anonymous subscribers", async () => {
    const { child, hubUrl, output } = await serve(["--dev", "--log-format", "json"]);
    try {
      const text = output();
      const publisher = /Publisher token[^\n]*\n\s+(\S+)/.exec(text)?.[1];
      assert.ok(publisher, text);
      assert.ok(text.includes(`curl '${hubUrl}'`), "a curl line that publishes");
      const response = await publishWith(hubUrl, publisher, "https://example.com/books/1");
      assert.equal(response.status, 200);
      const anonymous = await fetch(`${hubUrl}?match=*`);
      assert.equal(anonymous.status, 200);
      assert.equal(anonymous.headers.get("content-type"), "text/event-stream");
      await anonymous.body?.cancel();
    } finally {
      assert.equal(await stop(child), 0, "SIGTERM shuts down cleanly");
    }
  });
});

describe("quicksilver serve: log formats", () => {
  it("logs readable lines with --dev, each worker's starting with its name", async () => {
    const child = spawn(
      process.execPath,
      [BIN, "serve", "--listen", "127.0.0.1:0", "--dev", "--workers", "2"],
      {
        env: { PATH: process.env.PATH ?? "", MERCURE_TRANSPORT: "memory", MERCURE_LOG_LEVEL: "debug" },
      },
    );
    let output = "";
    const listening = new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk) => {
        output += chunk;
        if (output.split("\n").filter((line) => line.includes("worker listening")).length === 2) resolve();
      });
    });
    try {
      await listening;
      const lines = output.split("\n").filter((line) => /^\[[\d:.]+\] (INFO|DEBUG)/.test(line));
      assert.ok(lines.length > 0, output);
      assert.ok(!lines.some((line) => line.startsWith("{")), "no JSON line");
      const workers = lines.filter((line) => /DEBUG.*: worker \d+: worker listening/.test(line));
      assert.equal(workers.length, 2, `each worker names itself: ${output}`);
    } finally {
      assert.equal(await stop(child), 0);
    }
  });

  it("refuses a format or a request log level it does not know", async () => {
    const result = await run(["serve", "--listen", "127.0.0.1:0", "--dev", "--log-format", "xml"]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--log-format takes json or pretty/);
    const level = await run(["serve", "--listen", "127.0.0.1:0", "--dev", "--request-log-level", "loud"]);
    assert.equal(level.code, 2);
    assert.match(level.stderr, /--request-log-level takes debug, info, warn, off, got loud/);
  });
});

describe("quicksilver serve: the environment", () => {
  it("reads the reference hub's Docker names", async () => {
    const { child, hubUrl } = await serve([], {
      MERCURE_PUBLISHER_JWT_KEY: SECRET,
      MERCURE_TRUSTED_ISSUERS: "https://app.example",
      MERCURE_MAX_TOPICS: "1",
    });
    try {
      const token = await run([
        "token",
        "--iss",
        "https://app.example",
        "--aud",
        hubUrl,
        "--key",
        SECRET,
        "--publish",
        "*",
      ]);
      assert.equal(token.code, 0, token.stderr);
      assert.equal((await publishWith(hubUrl, token.stdout.trim(), "https://example.com/a")).status, 200);
      const twoTopics = await fetch(hubUrl, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${token.stdout.trim()}`,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: "topic=a&topic=b",
      });
      assert.equal(twoTopics.status, 413, "MERCURE_MAX_TOPICS=1 applies");
    } finally {
      await stop(child);
    }
  });
});

describe("quicksilver serve: several issuers from a config file", () => {
  it("verifies each issuer's tokens with that issuer's key only", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qs-cli-"));
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const privatePem = join(dir, "b.key");
    writeFileSync(privatePem, privateKey.export({ type: "pkcs8", format: "pem" }));
    const file = join(dir, "hub.json");
    writeFileSync(
      file,
      JSON.stringify({
        issuers: [
          { issuer: "https://a.example", publisher: { key: SECRET } },
          {
            issuer: "https://b.example",
            publisher: { key: publicKey.export({ type: "spki", format: "pem" }) },
          },
        ],
      }),
    );
    const { child, hubUrl } = await serve(["--config", file]);
    try {
      const mint = async (args: string[]) => {
        const result = await run(["token", "--aud", hubUrl, "--publish", "*", ...args]);
        assert.equal(result.code, 0, result.stderr);
        return result.stdout.trim();
      };
      const a = await mint(["--iss", "https://a.example", "--key", SECRET]);
      const b = await mint(["--iss", "https://b.example", "--key-file", privatePem]);
      const bClaimingA = await mint(["--iss", "https://a.example", "--key-file", privatePem]);
      const aClaimingB = await mint(["--iss", "https://b.example", "--key", SECRET]);
      assert.equal((await publishWith(hubUrl, a, "t")).status, 200);
      assert.equal((await publishWith(hubUrl, b, "t")).status, 200);
      assert.equal((await publishWith(hubUrl, bClaimingA, "t")).status, 401);
      assert.equal((await publishWith(hubUrl, aClaimingB, "t")).status, 401);
    } finally {
      await stop(child);
    }
  });
});

describe("quicksilver token", () => {
  it("mints a draft-08 access token", async () => {
    const result = await run([
      "token",
      "--iss",
      "https://app.example",
      "--aud",
      "https://hub.example/.well-known/mercure",
      "--key",
      SECRET,
      "--subscribe",
      "https://example.com/books/1",
      "--subscribe-urlpattern",
      "https://example.com/users/:id",
      "--payload",
      '{"name":"Ada"}',
      "--ttl",
      "15m",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const [header, payload] = result.stdout
      .trim()
      .split(".")
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));
    assert.deepEqual(header, { alg: "HS256", typ: "at+jwt" });
    assert.equal(payload.iss, "https://app.example");
    assert.equal(payload.aud, "https://hub.example/.well-known/mercure");
    assert.equal(payload.exp - payload.iat, 900);
    for (const claim of ["sub", "client_id", "jti"]) assert.equal(typeof payload[claim], "string");
    assert.deepEqual(payload.authorization_details, [
      {
        type: "https://mercure.rocks/authorization-detail",
        actions: ["subscribe"],
        topics: [
          { match: "https://example.com/books/1" },
          { match: "https://example.com/users/:id", match_type: "urlpattern" },
        ],
        payload: { name: "Ada" },
      },
    ]);
  });

  it("refuses to mint without a grant", async () => {
    const result = await run(["token", "--iss", "i", "--key", SECRET]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /grant something/);
  });
});

describe("quicksilver serve: coming from the Go hub", () => {
  const LONG = "x".repeat(32);
  const resolve = (env: Record<string, string>, flags: Record<string, string | boolean> = {}): ServeConfig =>
    resolveServeConfig(flags, env);

  describe("the old hub's names", () => {
    const cases: [string, Record<string, string>, (config: ServeConfig) => void][] = [
      [
        "JWT_KEY: both roles",
        { JWT_KEY: LONG },
        (config) => {
          assert.equal(config.legacyKeys?.publisher?.key, LONG);
          assert.equal(config.legacyKeys?.subscriber?.key, LONG);
        },
      ],
      [
        "PUBLISHER_JWT_KEY and SUBSCRIBER_JWT_KEY win over JWT_KEY for their role",
        { JWT_KEY: LONG, PUBLISHER_JWT_KEY: `p${LONG}`, SUBSCRIBER_JWT_KEY: `s${LONG}` },
        (config) => {
          assert.equal(config.legacyKeys?.publisher?.key, `p${LONG}`);
          assert.equal(config.legacyKeys?.subscriber?.key, `s${LONG}`);
        },
      ],
      [
        "PUBLISHER_JWT_KEY alone: both roles",
        { PUBLISHER_JWT_KEY: LONG },
        (config) => assert.equal(config.legacyKeys?.subscriber?.key, LONG),
      ],
      [
        "JWT_ALGORITHM, PUBLISHER_JWT_ALGORITHM, SUBSCRIBER_JWT_ALGORITHM",
        { JWT_KEY: "x".repeat(64), JWT_ALGORITHM: "HS512", PUBLISHER_JWT_ALGORITHM: "HS384" },
        (config) => {
          assert.equal(config.legacyKeys?.publisher?.alg, "HS384");
          assert.equal(config.legacyKeys?.subscriber?.alg, "HS512");
        },
      ],
      [
        "SUBSCRIBER_JWT_ALGORITHM",
        { JWT_KEY: "x".repeat(64), SUBSCRIBER_JWT_ALGORITHM: "HS512" },
        (config) => assert.equal(config.legacyKeys?.subscriber?.alg, "HS512"),
      ],
      [
        "JWT_ALGORITHM without a key for a role is no error",
        { PUBLISHER_JWT_KEY: LONG, JWT_ALGORITHM: "HS256" },
        (config) => assert.equal(config.legacyKeys?.subscriber?.alg, "HS256"),
      ],
      [
        "ALLOW_ANONYMOUS=1",
        { JWT_KEY: LONG, ALLOW_ANONYMOUS: "1" },
        (config) => assert.equal(config.anonymous, true),
      ],
      [
        "ALLOW_ANONYMOUS=true",
        { JWT_KEY: LONG, ALLOW_ANONYMOUS: "true" },
        (config) => assert.equal(config.anonymous, true),
      ],
      [
        "ALLOW_ANONYMOUS=0",
        { JWT_KEY: LONG, ALLOW_ANONYMOUS: "0" },
        (config) => assert.equal(config.anonymous, false),
      ],
      [
        "CORS_ALLOWED_ORIGINS, space separated as the old hub wanted",
        { JWT_KEY: LONG, CORS_ALLOWED_ORIGINS: "https://a.example https://b.example" },
        (config) => assert.deepEqual(config.corsOrigins, ["https://a.example", "https://b.example"]),
      ],
      [
        "PUBLISH_ALLOWED_ORIGINS",
        { JWT_KEY: LONG, PUBLISH_ALLOWED_ORIGINS: "http://localhost:3000" },
        (config) => assert.deepEqual(config.publishOrigins, ["http://localhost:3000"]),
      ],
      [
        "ADDR=:3000: every interface",
        { JWT_KEY: LONG, ADDR: ":3000" },
        (config) => assert.deepEqual([config.host, config.port], ["0.0.0.0", 3000]),
      ],
      [
        "ADDR=localhost:3000",
        { JWT_KEY: LONG, ADDR: "localhost:3000" },
        (config) => assert.deepEqual([config.host, config.port], ["localhost", 3000]),
      ],
      [
        "ADDR=127.0.0.1:3000",
        { JWT_KEY: LONG, ADDR: "127.0.0.1:3000" },
        (config) => assert.deepEqual([config.host, config.port], ["127.0.0.1", 3000]),
      ],
      [
        "HEARTBEAT_INTERVAL, a Go duration",
        { JWT_KEY: LONG, HEARTBEAT_INTERVAL: "1m30s" },
        (config) => assert.equal(config.streams.heartbeatMs, 90_000),
      ],
      [
        "HEARTBEAT_INTERVAL=0s (disabled in the old hub): the default, with a warning",
        { JWT_KEY: LONG, HEARTBEAT_INTERVAL: "0s" },
        (config) => {
          assert.equal(config.streams.heartbeatMs, 30_000);
          assert.ok(
            config.warnings.some((w) => w.includes("HEARTBEAT_INTERVAL=0s")),
            config.warnings.join("\n"),
          );
        },
      ],
      [
        "WRITE_TIMEOUT: the longest a stream lives",
        { JWT_KEY: LONG, WRITE_TIMEOUT: "15s" },
        (config) => assert.equal(config.streams.maxLifetimeMs, 15_000),
      ],
      [
        "WRITE_TIMEOUT=0s: the default lifetime",
        { JWT_KEY: LONG, WRITE_TIMEOUT: "0s" },
        (config) => assert.equal(config.streams.maxLifetimeMs, 3_600_000),
      ],
      [
        "DISPATCH_TIMEOUT: the slow-subscriber timeout",
        { JWT_KEY: LONG, DISPATCH_TIMEOUT: "500ms" },
        (config) => assert.equal(config.streams.writeTimeoutMs, 500),
      ],
      [
        "SUBSCRIPTIONS=1, which alone does not imply the legacy dialect",
        { MERCURE_PUBLISHER_JWT_KEY: LONG, MERCURE_TRUSTED_ISSUERS: "i", SUBSCRIPTIONS: "1" },
        (config) => {
          assert.equal(config.subscriptions, true);
          assert.equal(config.legacy, false);
        },
      ],
    ];
    for (const [what, env, check] of cases) it(what, () => check(resolve(env)));

    it("takes flags, then MERCURE_*, then the Docker names, then the old hub's, then the config file", () => {
      const dir = mkdtempSync(join(tmpdir(), "qs-cli-"));
      const file = join(dir, "hub.json");
      writeFileSync(file, JSON.stringify({ listen: "127.0.0.1:1", anonymous: false }));
      const env = { JWT_KEY: LONG, MERCURE_CONFIG: file };
      const listen = (more: Record<string, string>, flags: Record<string, string> = {}) => {
        const config = resolve({ ...env, ...more }, flags);
        return `${config.host}:${config.port}`;
      };
      assert.equal(listen({}), "127.0.0.1:1");
      assert.equal(listen({ ADDR: ":2" }), "0.0.0.0:2");
      assert.equal(listen({ ADDR: ":2", SERVER_NAME: ":3" }), "0.0.0.0:3");
      assert.equal(listen({ ADDR: ":2", SERVER_NAME: ":3", MERCURE_LISTEN: ":4" }), "0.0.0.0:4");
      assert.equal(listen({ ADDR: ":2", MERCURE_LISTEN: ":4" }, { listen: ":5" }), "0.0.0.0:5");
      assert.equal(resolve({ ...env, ALLOW_ANONYMOUS: "1" }).anonymous, true, "an old name beats the file");
      const keys = resolve({
        JWT_KEY: `j${LONG}`,
        PUBLISHER_JWT_KEY: `p${LONG}`,
        MERCURE_PUBLISHER_JWT_KEY: `m${LONG}`,
      });
      assert.equal(keys.legacyKeys?.publisher?.key, `m${LONG}`);
      assert.equal(keys.legacyKeys?.subscriber?.key, `j${LONG}`);
      const flagged = resolve({ JWT_KEY: LONG }, { "publisher-key": `f${LONG}`, legacy: true });
      assert.equal(flagged.legacyKeys?.publisher?.key, `f${LONG}`);
    });

    it("lets --publisher-key-file win over a leftover JWT_KEY", () => {
      const dir = mkdtempSync(join(tmpdir(), "qs-cli-"));
      const keyFile = join(dir, "publisher.key");
      writeFileSync(keyFile, `k${LONG}\n`);
      const config = resolve({ JWT_KEY: LONG }, { "publisher-key-file": keyFile });
      assert.equal(config.legacyKeys?.publisher?.key, `k${LONG}`);
      assert.equal(config.legacyKeys?.subscriber?.key, LONG);
    });
  });

  describe("SERVER_NAME, the Docker image's Caddy address", () => {
    const forms: [string, string][] = [
      [":80", "0.0.0.0:80"],
      [":8080", "0.0.0.0:8080"],
      ["localhost:3000", "localhost:3000"],
      ["http://localhost:3000", "localhost:3000"],
      ["http://localhost:3000/", "localhost:3000"],
      ["http://:8080", "0.0.0.0:8080"],
      ["http://localhost", "localhost:80"],
      ["[::1]:3000", "::1:3000"],
      [":80, http://:80", "0.0.0.0:80"],
    ];
    for (const [serverName, listen] of forms) {
      it(`listens on ${listen} for SERVER_NAME=${serverName}`, () => {
        const config = resolve({
          SERVER_NAME: serverName,
          MERCURE_PUBLISHER_JWT_KEY: LONG,
          MERCURE_TRUSTED_ISSUERS: "i",
        });
        assert.equal(`${config.host}:${config.port}`, listen);
        assert.equal(config.legacy, false, "SERVER_NAME is no 0.x setting");
      });
    }

    it("warns that a host name with a port was HTTPS in Caddy", () => {
      const config = resolve({
        SERVER_NAME: "localhost:3000",
        MERCURE_PUBLISHER_JWT_KEY: LONG,
        MERCURE_TRUSTED_ISSUERS: "i",
      });
      assert.ok(
        config.warnings.some((w) => /SERVER_NAME=localhost:3000.*plain HTTP/.test(w)),
        config.warnings.join("\n"),
      );
      assert.deepEqual(
        resolve({ SERVER_NAME: ":80", MERCURE_PUBLISHER_JWT_KEY: LONG, MERCURE_TRUSTED_ISSUERS: "i" })
          .warnings,
        [],
      );
    });

    const refused: [string, RegExp][] = [
      [
        "example.com",
        /SERVER_NAME=example\.com.*automatic HTTPS.*TLS is terminated in front of Quicksilver.*:port/,
      ],
      ["localhost", /automatic HTTPS.*:port/],
      ["https://hub.example.com", /automatic HTTPS.*TLS is terminated/],
      ["https://:8443", /automatic HTTPS/],
      [":443", /automatic HTTPS/],
      [":80 :8080", /SERVER_NAME lists 2 site addresses.*listens on one/],
      ["localhost:3000, example.com:3000", /SERVER_NAME lists 2 site addresses/],
      ["http://localhost:3000/hub", /paths are not supported/],
    ];
    for (const [serverName, message] of refused) {
      it(`refuses SERVER_NAME=${serverName} with exit status 2`, async () => {
        const result = await run(["serve"], {
          SERVER_NAME: serverName,
          MERCURE_PUBLISHER_JWT_KEY: SECRET,
          MERCURE_TRUSTED_ISSUERS: "i",
        });
        assert.equal(result.code, 2, result.stderr + result.stdout);
        assert.match(result.stderr, /^quicksilver: /);
        assert.match(result.stderr, message);
      });
    }
  });

  describe("when the legacy dialect is implied", () => {
    it("turns it on for the old hub's names, saying which", () => {
      const config = resolve({ JWT_KEY: LONG, MERCURE_TRUSTED_ISSUERS: "i", ADDR: ":3000" });
      assert.equal(config.legacy, true);
      assert.deepEqual(config.legacyReasons, ["JWT_KEY and ADDR are the old hub's settings"]);
      assert.deepEqual(config.issuers, [
        {
          issuer: "i",
          publisher: { key: LONG, allowShortSecret: true },
          subscriber: { key: LONG, allowShortSecret: true },
        },
      ]);
      assert.equal(config.legacyKeys?.publisher?.key, LONG, "the keys serve the issuer and legacy tokens");
    });

    it("turns it on for keys without an issuer: they can only verify legacy tokens", () => {
      const config = resolve({ MERCURE_PUBLISHER_JWT_KEY: LONG });
      assert.equal(config.legacy, true);
      assert.deepEqual(config.issuers, []);
      assert.equal(config.legacyKeys?.publisher?.key, LONG);
      assert.equal(config.legacyReasons.length, 1);
      assert.match(config.legacyReasons[0] ?? "", /without an issuer.*--issuer.*MERCURE_TRUSTED_ISSUERS/);
    });

    it("gives no reason when --legacy asks for it", () => {
      const config = resolve({ JWT_KEY: LONG }, { legacy: true });
      assert.equal(config.legacy, true);
      assert.deepEqual(config.legacyReasons, []);
    });

    it("stays off when MERCURE_LEGACY=0, the old names still mapping", () => {
      const config = resolve({
        JWT_KEY: LONG,
        MERCURE_TRUSTED_ISSUERS: "i",
        ALLOW_ANONYMOUS: "1",
        MERCURE_LEGACY: "0",
      });
      assert.equal(config.legacy, false);
      assert.deepEqual(config.legacyReasons, []);
      assert.equal(config.legacyKeys, undefined);
      assert.equal(config.anonymous, true);
      assert.equal(config.issuers[0]?.publisher?.allowShortSecret, undefined);
    });

    it("stays off in dev mode unless asked", () => {
      assert.equal(resolve({ JWT_KEY: LONG, ADDR: ":0" }, { dev: true }).legacy, false);
      assert.equal(resolve({ JWT_KEY: LONG }, { dev: true, legacy: true }).legacy, true);
    });

    it("reads legacy from the config file", () => {
      const dir = mkdtempSync(join(tmpdir(), "qs-cli-"));
      const file = join(dir, "hub.json");
      writeFileSync(file, JSON.stringify({ legacy: false }));
      assert.throws(() => resolve({ JWT_KEY: LONG, MERCURE_CONFIG: file }), /no issuer/);
    });

    it("refuses keys without an issuer when MERCURE_LEGACY=0, with exit status 2", async () => {
      const result = await run(["serve", "--listen", "127.0.0.1:0"], {
        JWT_KEY: SECRET,
        MERCURE_LEGACY: "0",
      });
      assert.equal(result.code, 2, result.stderr + result.stdout);
      assert.match(result.stderr, /no issuer: set --issuer.*or turn the legacy dialect on/);
    });
  });

  describe("the old hub's short secrets", () => {
    it("are accepted from the old names in legacy mode, with a warning that never shows them", () => {
      const config = resolve({ JWT_KEY: "!ChangeMe!" });
      assert.equal(config.legacyKeys?.publisher?.allowShortSecret, true);
      assert.equal(config.warnings.length, 1, config.warnings.join("\n"));
      assert.match(config.warnings[0] ?? "", /JWT_KEY is 10 bytes long.*RFC 7518.*openssl rand -base64 32/);
      assert.ok(!config.warnings[0]?.includes("!ChangeMe!"));
    });

    it("are accepted from MERCURE_PUBLISHER_JWT_KEY, a Docker name, in legacy mode", () => {
      const config = resolve({ MERCURE_PUBLISHER_JWT_KEY: "short" });
      assert.equal(config.legacyKeys?.publisher?.allowShortSecret, true);
    });

    it("are refused from this hub's own flags, even in legacy mode", async () => {
      assert.equal(
        resolve({}, { "publisher-key": "short", legacy: true }).legacyKeys?.publisher?.allowShortSecret,
        undefined,
      );
      const result = await run(["serve", "--listen", "127.0.0.1:0", "--legacy", "--publisher-key", "short"]);
      assert.equal(result.code, 2, result.stderr + result.stdout);
      assert.match(result.stderr, /openssl rand/);
    });

    it("are refused when the legacy dialect is off", async () => {
      const result = await run(["serve", "--listen", "127.0.0.1:0"], {
        JWT_KEY: "!ChangeMe!",
        MERCURE_TRUSTED_ISSUERS: "i",
        MERCURE_LEGACY: "0",
      });
      assert.equal(result.code, 2, result.stderr + result.stdout);
      assert.match(result.stderr, /10 bytes long.*openssl rand/);
      assert.ok(!result.stderr.includes("!ChangeMe!"));
    });
  });

  it("warns about the old settings it does not read", () => {
    const config = resolve({
      MERCURE_PUBLISHER_JWT_KEY: LONG,
      MERCURE_TRUSTED_ISSUERS: "i",
      ACME_HOSTS: "hub.example.com",
      MERCURE_EXTRA_DIRECTIVES: "anonymous",
    });
    assert.ok(
      config.warnings.some((w) => /^ACME_HOSTS is not read: certificates/.test(w)),
      config.warnings.join("\n"),
    );
    assert.ok(
      config.warnings.some((w) => /^MERCURE_EXTRA_DIRECTIVES is not read/.test(w)),
      config.warnings.join("\n"),
    );
  });

  it("runs the old hub's tutorial configuration unchanged", async () => {
    const { child, hubUrl, output } = await serve(
      [],
      {
        JWT_KEY: "!ChangeMe!",
        ADDR: ":0",
        ALLOW_ANONYMOUS: "1",
        CORS_ALLOWED_ORIGINS: "*",
        PUBLISH_ALLOWED_ORIGINS: "http://localhost:3000",
      },
      false,
    );
    try {
      const hub = new URL(hubUrl);
      hub.hostname = "127.0.0.1"; // ADDR=:0 listens on every IPv4 interface
      const warnings = output()
        .split("\n")
        .filter((line) => line.includes('"level":40'))
        .map((line) => JSON.parse(line).msg as string);
      assert.ok(
        warnings.includes(
          "legacy dialect on: JWT_KEY, ADDR, ALLOW_ANONYMOUS, CORS_ALLOWED_ORIGINS, and PUBLISH_ALLOWED_ORIGINS are the old hub's settings; set MERCURE_LEGACY=0 to refuse 0.x clients",
        ),
        warnings.join("\n"),
      );
      assert.ok(warnings.some((w) => /^legacy dialect on: keys are configured without an issuer/.test(w)));
      assert.ok(warnings.some((w) => /JWT_KEY is 10 bytes long.*openssl rand -base64 32/.test(w)));

      const token = await new jose.SignJWT({ mercure: { publish: ["*"] } })
        .setProtectedHeader({ alg: "HS256" })
        .sign(new TextEncoder().encode("!ChangeMe!"));
      assert.equal((await publishWith(hub.href, token, "https://example.com/books/1")).status, 200);
      const anonymous = await fetch(`${hub.href}?match=*`, {
        headers: { Origin: "https://anywhere.example" },
      });
      assert.equal(anonymous.status, 200, "ALLOW_ANONYMOUS=1");
      assert.equal(anonymous.headers.get("access-control-allow-origin"), "*", "CORS_ALLOWED_ORIGINS=*");
      assert.equal(anonymous.headers.get("access-control-allow-credentials"), null);
      await anonymous.body?.cancel();
    } finally {
      await stop(child);
    }
    assert.ok(!output().includes("ChangeMe"), "the secret is never logged");
  });

  it("verifies with a PEM public key from MERCURE_PUBLISHER_JWT_KEY, newlines and all", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qs-cli-"));
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const privatePem = join(dir, "publisher.key");
    writeFileSync(privatePem, privateKey.export({ type: "pkcs8", format: "pem" }));
    const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
    assert.ok(pem.trim().includes("\n"), "a multi-line PEM");
    const { child, hubUrl } = await serve([], {
      MERCURE_PUBLISHER_JWT_KEY: pem,
      MERCURE_TRUSTED_ISSUERS: "https://app.example",
    });
    try {
      const mint = await run([
        "token",
        "--iss",
        "https://app.example",
        "--aud",
        hubUrl,
        "--key-file",
        privatePem,
        "--publish",
        "*",
      ]);
      assert.equal(mint.code, 0, mint.stderr);
      assert.equal((await publishWith(hubUrl, mint.stdout.trim(), "https://example.com/a")).status, 200);
      const forged = await run([
        "token",
        "--iss",
        "https://app.example",
        "--aud",
        hubUrl,
        "--key",
        SECRET,
        "--publish",
        "*",
      ]);
      assert.equal((await publishWith(hubUrl, forged.stdout.trim(), "https://example.com/a")).status, 401);
    } finally {
      await stop(child);
    }
  });
});

describe("quicksilver serve: where history lives", () => {
  const keys = { issuer: "https://app.example.com", "publisher-key": "k".repeat(32) };
  const history = (flags: Record<string, string> = {}, env: Record<string, string> = {}) =>
    resolveServeConfig({ ...keys, ...flags }, env);

  it("defaults to a durable sqlite store in the XDG data directory, else under the home directory", () => {
    assert.deepEqual(history({}, { XDG_DATA_HOME: "/data" }).history, {
      transport: "sqlite",
      path: "/data/quicksilver/history.db",
      maxCount: 1_000_000,
      maxAgeMs: 7 * 86_400_000,
      maxBytes: 1024 ** 3,
      durability: "full",
    });
    const fallback = history().history;
    assert.equal(
      fallback.transport === "sqlite" && fallback.path,
      join(homedir(), ".local/share/quicksilver/history.db"),
    );
  });

  it("puts the store where --data-dir or sqlite:<path> says, from flags or the environment", () => {
    const path = (flags: Record<string, string>, env: Record<string, string> = {}) => {
      const resolved = history(flags, env).history;
      return resolved.transport === "sqlite" ? resolved.path : undefined;
    };
    assert.equal(path({ "data-dir": "/srv/hub" }), "/srv/hub/history.db");
    assert.equal(path({}, { MERCURE_DATA_DIR: "/srv/env" }), "/srv/env/history.db");
    assert.equal(path({ transport: "sqlite:/var/lib/h.db", "data-dir": "/ignored" }), "/var/lib/h.db");
    assert.equal(path({}, { MERCURE_TRANSPORT: "sqlite:/env/h.db" }), "/env/h.db");
  });

  it("reads the retention and durability options", () => {
    assert.deepEqual(
      history({
        "history-size": "50",
        "history-max-age": "12h",
        "history-max-bytes": "1048576",
        "history-durability": "normal",
        transport: "sqlite:/h.db",
      }).history,
      {
        transport: "sqlite",
        path: "/h.db",
        maxCount: 50,
        maxAgeMs: 43_200_000,
        maxBytes: 1_048_576,
        durability: "normal",
      },
    );
  });

  it("keeps history in memory or not at all on request, warning about options that then do nothing", () => {
    assert.deepEqual(history({ transport: "memory" }).history, { transport: "memory", maxCount: 1000 });
    const memory = history({ transport: "memory", "history-size": "5", "history-max-age": "1h" });
    assert.deepEqual(memory.history, { transport: "memory", maxCount: 5 });
    assert.ok(
      memory.warnings.some((w) => w.includes("--history-max-age is not used") && w.includes("memory")),
      memory.warnings.join("\n"),
    );
    const none = history({ transport: "none", "history-size": "5" });
    assert.deepEqual(none.history, { transport: "none" });
    assert.ok(
      none.warnings.some((w) => w.includes("--history-size is not used")),
      none.warnings.join("\n"),
    );
  });

  it("reads a redis history with sqlite's retention options, and warns of those that do not apply", () => {
    const redis = history({
      transport: "rediss://user:secret@redis.example:6380/2",
      "history-size": "500",
      "history-max-age": "1h",
      "node-lease": "3s",
      "history-durability": "normal",
    });
    assert.deepEqual(redis.history, {
      transport: "redis",
      url: "rediss://user:secret@redis.example:6380/2",
      keyPrefix: "{quicksilver}",
      maxCount: 500,
      maxAgeMs: 3_600_000,
      maxBytes: 1024 * 1024 * 1024,
      leaseMs: 3000,
    });
    assert.ok(
      redis.warnings.some((w) => w.includes("--history-durability is not used with a redis history")),
      redis.warnings.join("\n"),
    );
  });

  it("refuses what it cannot read, naming the option", () => {
    for (const [flags, message] of [
      [
        { transport: "postgres://user:secret@localhost" },
        /--transport takes sqlite:<path>, redis:.*, memory or none, got postgres:\/\/\.\.\.@localhost$/,
      ],
      [{ "history-durability": "sometimes" }, /--history-durability takes full or normal, got sometimes/],
      [{ "history-max-age": "soon" }, /--history-max-age/],
      [{ "history-max-bytes": "-1" }, /--history-max-bytes/],
    ] as const) {
      assert.throws(
        () => history(flags),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
      );
    }
  });
});

describe("quicksilver serve: connection limits follow the descriptor limit", () => {
  const keys = { issuer: "https://app.test", "publisher-key": SECRET, transport: "memory" };
  const resolve = (flags: Record<string, string>, descriptors: number | undefined) =>
    resolveServeConfig({ ...keys, ...flags }, {}, { descriptors });

  it("keeps sockets, their refusal band and reserved descriptors under ulimit -n", () => {
    for (const descriptors of [256, 1024, 20_000, 1_048_576]) {
      const config = resolve({}, descriptors);
      const band = Math.max(16, Math.ceil(config.sockets.maxSockets / 16));
      assert.ok(
        config.sockets.maxSockets + band + Math.max(64, descriptors / 20) <= descriptors,
        `${descriptors}`,
      );
      assert.ok(
        config.limits.maxConnections < config.sockets.maxSockets,
        "streams leave sockets for publishers",
      );
      assert.ok(config.limits.maxConnectionsPerClient <= config.sockets.maxSocketsPerClient);
      assert.ok(config.sockets.maxSocketsPerClient <= config.sockets.maxSockets);
    }
    assert.equal(resolve({}, 1_048_576).limits.maxConnections, 16_384);
    assert.equal(resolve({}, 1_048_576).sockets.maxSocketsPerClient, 1024 + 256);
  });

  it("assumes 1024 descriptors where the limit cannot be read", () => {
    assert.equal(descriptorLimit(join(tmpdir(), "no-such-limits-file")), undefined);
    if (process.platform === "linux") assert.ok((descriptorLimit() ?? 0) > 0, "read from /proc/self/limits");
    assert.deepEqual(resolve({}, undefined).sockets.maxSockets, resolve({}, 1024).sockets.maxSockets);
    // An explicit value is not checked against a guess.
    assert.equal(resolve({ "max-sockets": "50000" }, undefined).sockets.maxSockets, 50_000);
  });

  it("warns of limits the descriptors or the socket limits cannot hold, and refuses contradictions", () => {
    const beyond = resolve({ "max-sockets": "20000" }, 20_000);
    assert.equal(beyond.sockets.maxSockets, 20_000, "an explicit figure is the operator's choice");
    assert.ok(beyond.warnings.some((warning) => /--max-sockets 20000 .*ulimit -n/.test(warning)));
    const streamsOnly = resolve(
      { "max-connections": "1000000", "max-connections-per-client": "1000000" },
      20_000,
    );
    assert.equal(streamsOnly.limits.maxConnections, 1_000_000);
    assert.ok(
      streamsOnly.warnings.some((warning) =>
        /--max-connections 1000000 is more than --max-sockets/.test(warning),
      ),
      "a configuration written before the socket limits still starts, and is told what bounds it",
    );
    assert.throws(
      () => resolve({ "max-sockets": "100", "max-connections": "200" }, 20_000),
      /--max-connections 200 is more than --max-sockets 100/,
    );
    assert.throws(
      () => resolve({ "max-sockets-per-client": "10", "max-connections-per-client": "20" }, 20_000),
      /--max-connections-per-client 20 is more than --max-sockets-per-client 10/,
    );
    assert.throws(() => resolve({ "headers-timeout": "31s" }, 20_000), /--headers-timeout/);
  });

  it("lowers the stream defaults to lower socket limits", () => {
    const config = resolve({ "max-sockets": "100", "max-sockets-per-client": "10" }, 20_000);
    assert.equal(config.limits.maxConnections, 90);
    assert.equal(config.limits.maxConnectionsPerClient, 10);
  });
});
