import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BENCH_ISSUER, BENCH_SECRET, type BenchHub, spawnHub } from "../bench/spawn-hub.ts";
import { mintToken } from "../src/auth/mint.ts";
import { openStream, subscribeUrl } from "./helpers/sse-client.ts";

const BIN = fileURLToPath(new URL("../bin/quicksilver.js", import.meta.url));
const directory = mkdtempSync(join(tmpdir(), "quicksilver-durable-"));
after(() => rmSync(directory, { recursive: true, force: true }));

async function token(hub: BenchHub, grant: "publish" | "subscribe"): Promise<string> {
  return mintToken({
    issuer: BENCH_ISSUER,
    audience: hub.hubUrl,
    key: BENCH_SECRET,
    [grant]: ["*"],
  });
}

async function stopped(hub: BenchHub): Promise<void> {
  const exited = new Promise((resolve) => hub.process.once("exit", resolve));
  hub.process.kill("SIGTERM");
  await exited;
}

async function publish(hub: BenchHub, id: string): Promise<Response> {
  return fetch(hub.hubUrl, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${await token(hub, "publish")}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ topic: "https://example.com/durable", id, data: id }),
  });
}

async function publishIds(hub: BenchHub, ids: string[]): Promise<void> {
  for (const id of ids) {
    const response = await publish(hub, id);
    assert.equal(response.status, 200, await response.text());
  }
}

async function replayedIds(hub: BenchHub, cursor: string, count: number): Promise<string[]> {
  const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
    headers: { Authorization: `Bearer ${await token(hub, "subscribe")}`, "Last-Event-ID": cursor },
  });
  const events = await stream.waitForEvents(count);
  stream.close();
  return events.map((event) => event.id ?? "");
}

describe("durable history (the default sqlite transport)", () => {
  it("keeps history across a restart, in the data directory", async () => {
    const dataDir = join(directory, "data");
    const first = await spawnHub(["--transport", "sqlite", "--data-dir", dataDir]);
    await publishIds(first, ["one", "two", "three"]);
    await stopped(first);

    const second = await spawnHub(["--transport", "sqlite", "--data-dir", dataDir]);
    try {
      assert.deepEqual(await replayedIds(second, "one", 2), ["two", "three"]);
      await publishIds(second, ["four"]);
      assert.deepEqual(await replayedIds(second, "earliest", 4), ["one", "two", "three", "four"]);
    } finally {
      await stopped(second);
    }
  });

  it("refuses to start on a file that is not a store, naming it", () => {
    const path = join(directory, "broken.db");
    writeFileSync(path, "not a database ".repeat(100));
    const result = spawnSync(
      process.execPath,
      [BIN, "serve", "--listen", "127.0.0.1:0", "--dev", "--transport", `sqlite:${path}`],
      { encoding: "utf8", timeout: 20_000 },
    );
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`cannot open the history store ${path.replaceAll(".", "\\.")}`));
  });

  it("answers 503 store_unavailable for an update it cannot store, and acknowledges nothing", async () => {
    const path = join(directory, "busy.db");
    const hub = await spawnHub(["--transport", `sqlite:${path}`]);
    try {
      await publishIds(hub, ["before"]);
      const intruder = new DatabaseSync(path);
      intruder.exec("BEGIN IMMEDIATE");
      const refused = await publish(hub, "refused");
      intruder.exec("ROLLBACK");
      intruder.close();
      assert.equal(refused.status, 503);
      assert.equal(((await refused.json()) as { code: string }).code, "store_unavailable");
      await publishIds(hub, ["after"]);
      assert.deepEqual(await replayedIds(hub, "earliest", 2), ["before", "after"]);
    } finally {
      await stopped(hub);
    }
  });

  it("refuses a second hub on a store a running hub uses", async () => {
    const path = join(directory, "shared.db");
    const first = await spawnHub(["--transport", `sqlite:${path}`]);
    try {
      const result = spawnSync(
        process.execPath,
        [BIN, "serve", "--listen", "127.0.0.1:0", "--dev", "--transport", `sqlite:${path}`],
        { encoding: "utf8", timeout: 20_000 },
      );
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /is in use by another process/);
    } finally {
      await stopped(first);
    }
  });
});
