import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../bin/quicksilver.js", import.meta.url));
const SECRET = "a-secret-that-is-long-enough-for-hs256!!";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `serve` and resolves once it logged that it listens, with its hub URL. */
function serve(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; hubUrl: string; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "serve", "--listen", "127.0.0.1:0", ...args], {
      env: { PATH: process.env.PATH ?? "", ...env },
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
    ["a key without an issuer", ["--publisher-key", SECRET], {}, /no issuer.*--issuer/],
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
    ["* as a CORS origin", ["--dev", "--cors-origins", "*"], {}, /cors-origins.*\*/],
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
    const { child, hubUrl, output } = await serve(["--dev"]);
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
