import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type RedisServer, startRedisServer } from "./helpers/redis-server.ts";
import { openStream, subscribeUrl } from "./helpers/sse-client.ts";

const BIN = fileURLToPath(new URL("../bin/quicksilver.js", import.meta.url));
const SECRET = "a-secret-that-is-long-enough-for-hs256!!";
const ISSUER = "https://app.test";
/** What both hubs take tokens for: behind one load balancer, they are one resource. */
const RESOURCE = "https://hub.test/.well-known/mercure";

let redis: RedisServer;
before(async () => {
  redis = await startRedisServer();
});
after(() => redis.stop());

/** Starts `serve` on a redis history; resolves once it listens, with its hub URL. */
function serve(keyPrefix: string): Promise<{ child: ChildProcess; hubUrl: string }> {
  const args = [
    ...["serve", "--listen", "127.0.0.1:0", "--transport", redis.url, "--redis-prefix", keyPrefix],
    ...["--issuer", ISSUER, "--publisher-key", SECRET, "--anonymous", "--resource-identifier", RESOURCE],
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? "" } });
    let output = "";
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((l) => l.includes('"hub listening"'));
      if (line !== undefined) resolve({ child, hubUrl: JSON.parse(line).hubUrl });
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("close", (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
}

function publisherToken(): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = ["token", "--iss", ISSUER, "--aud", RESOURCE, "--key", SECRET, "--publish", "*"];
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? "" } });
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.on("close", (code) =>
      code === 0 ? resolve(stdout.trim()) : reject(new Error(`token exited ${code}`)),
    );
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.removeAllListeners("close");
    child.on("close", (code) => resolve(code));
    child.kill("SIGTERM");
  });
}

describe("quicksilver serve --transport redis://", () => {
  it("runs hubs that deliver each other's publishes", { timeout: 60_000 }, async () => {
    const keyPrefix = `{test-${randomUUID()}}`;
    const hubs = [await serve(keyPrefix), await serve(keyPrefix)];
    const token = await publisherToken();
    const topic = "https://example.com/books/1";
    try {
      const streams = await Promise.all(
        hubs.map((hub) => openStream(subscribeUrl(hub.hubUrl, [["match", topic]]))),
      );
      for (const [from, hub] of hubs.entries()) {
        const response = await fetch(hub.hubUrl, {
          method: "POST",
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ topic, data: `from hub ${from}` }),
        });
        assert.equal(response.status, 200, await response.text());
      }
      for (const stream of streams) {
        const events = await stream.waitForEvents(2);
        assert.deepEqual(
          events.map((event) => event.data),
          ["from hub 0", "from hub 1"],
        );
        stream.close();
      }
    } finally {
      for (const hub of hubs) assert.equal(await stop(hub.child), 0, "SIGTERM shuts down cleanly");
    }
  });

  it("does not start on a Redis that refuses its password, and says so without the password", {
    timeout: 30_000,
  }, async () => {
    const guarded = await startRedisServer({ password: "the-right-one" });
    try {
      const url = guarded.url.replace("the-right-one", "hunter2-wrong");
      const args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--transport",
        url,
        "--issuer",
        ISSUER,
        "--publisher-key",
        SECRET,
      ];
      const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? "" } });
      let output = "";
      child.stdout.on("data", (chunk) => {
        output += chunk;
      });
      child.stderr.on("data", (chunk) => {
        output += chunk;
      });
      const [code] = (await once(child, "close")) as [number | null];
      assert.notEqual(code, 0, output);
      assert.match(
        output,
        /cannot connect to Redis at redis:\/\/127\.0\.0\.1:\d+: the user or password was refused/,
      );
      assert.doesNotMatch(output, /hunter2/);
    } finally {
      await guarded.stop();
    }
  });
});
