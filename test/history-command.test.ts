import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createUpdate } from "../src/hub/update.ts";
import { SqliteTransport } from "../src/transports/sqlite.ts";

const BIN = fileURLToPath(new URL("../bin/quicksilver.js", import.meta.url));
const directory = mkdtempSync(join(tmpdir(), "quicksilver-history-command-"));
after(() => rmSync(directory, { recursive: true, force: true }));
let stores = 0;

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 1);

/** A closed store holding `u0`…`u{count-1}`, each 100 bytes of data, one per day up to now. */
async function storeWith(count: number): Promise<string> {
  const path = join(directory, `store-${++stores}`, "history.db");
  let now = NOW - count * DAY;
  const transport = new SqliteTransport({ path, retention: { maxCount: 1_000_000 }, now: () => now });
  for (let i = 0; i < count; i++) {
    now += DAY;
    await transport.publish(
      createUpdate({
        topics: ["https://example.com/t"],
        data: "x".repeat(100),
        id: `u${i}`,
        type: undefined,
        retry: undefined,
        private: false,
      }),
    );
  }
  await transport.close();
  return path;
}

function history(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, "history", ...args], {
    encoding: "utf8",
    timeout: 20_000,
    env: { ...process.env, ...env },
  });
}

interface Info {
  count: number;
  inUse: boolean;
  storedBytes: number;
  oldest: { id: string; seq: number } | undefined;
  newest: { id: string; seq: number } | undefined;
}

function info(path: string): Info {
  const result = history(["info", "--json", "--transport", `sqlite:${path}`]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Info;
}

describe("quicksilver history", () => {
  it("reports the count, both ends and the sizes of a store", async () => {
    const path = await storeWith(30);
    const report = info(path);
    assert.equal(report.count, 30);
    assert.equal(report.inUse, false);
    assert.deepEqual(report.oldest && [report.oldest.id, report.oldest.seq], ["u0", 1]);
    assert.deepEqual(report.newest && [report.newest.id, report.newest.seq], ["u29", 30]);
    assert.ok(report.storedBytes > 30 * 100, `${report.storedBytes} bytes`);

    const text = history(["--transport", `sqlite:${path}`]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /updates +30 \(/);
    assert.match(text.stdout, /oldest +u0 \(seq 1, stored /);
  });

  it("finds the default store in the data directory, as serve does", async () => {
    const path = await storeWith(3);
    const viaFlag = history(["info", "--json", "--data-dir", join(path, "..")]);
    assert.equal(JSON.parse(viaFlag.stdout).count, 3, viaFlag.stderr);
    const viaEnv = history(["info", "--json"], { MERCURE_DATA_DIR: join(path, "..") });
    assert.equal(JSON.parse(viaEnv.stdout).count, 3, viaEnv.stderr);
  });

  it("trims by count, age and size, oldest first, keeping the newest", async () => {
    const path = await storeWith(40);
    const byCount = history(["trim", "--keep", "30", "--transport", `sqlite:${path}`]);
    assert.equal(byCount.status, 0, byCount.stderr);
    assert.match(byCount.stdout, /removed 10 updates, kept 30/);
    assert.equal(info(path).oldest?.id, "u10");

    // u39 was stored at NOW and each earlier one a day before the next. The cutoff falls less
    // than a day before NOW - 19 days: u20 (NOW - 19 days) and newer are kept.
    const ageDays = Math.floor((Date.now() - NOW) / DAY) + 20;
    const byAge = history(["trim", "--max-age", `${ageDays}d`, "--transport", `sqlite:${path}`]);
    assert.equal(byAge.status, 0, byAge.stderr);
    const afterAge = info(path);
    assert.equal(afterAge.count, 20);
    assert.equal(afterAge.oldest?.id, "u20");

    const perUpdate = afterAge.storedBytes / afterAge.count;
    const bySize = history([
      "trim",
      "--max-bytes",
      String(Math.floor(perUpdate * 5.5)),
      "--vacuum",
      "--transport",
      `sqlite:${path}`,
    ]);
    assert.equal(bySize.status, 0, bySize.stderr);
    assert.match(bySize.stdout, /removed 15 updates, kept 5\nfile .* before, .* after vacuum/);
    const afterSize = info(path);
    assert.deepEqual([afterSize.count, afterSize.oldest?.id, afterSize.newest?.id], [5, "u35", "u39"]);

    const all = history(["trim", "--keep", "0", "--transport", `sqlite:${path}`]);
    assert.equal(all.status, 0, all.stderr);
    assert.equal(info(path).count, 0);
    // Seqs are never reused: the next update after an emptied store continues the sequence.
    const reopened = new SqliteTransport({ path, retention: { maxCount: 10 } });
    const next = createUpdate({
      topics: ["t"],
      data: "",
      id: "next",
      type: undefined,
      retry: undefined,
      private: false,
    });
    await reopened.publish(next);
    await reopened.close();
    const newest = info(path).newest;
    assert.deepEqual(newest && [newest.id, newest.seq], ["next", 41]);
  });

  it("reads a store a running hub holds, but refuses to trim it", async () => {
    const path = await storeWith(5);
    const running = new SqliteTransport({ path, retention: { maxCount: 100 } });
    try {
      const report = info(path);
      assert.equal(report.inUse, true);
      assert.equal(report.count, 5);
      const trim = history(["trim", "--keep", "1", "--transport", `sqlite:${path}`]);
      assert.equal(trim.status, 1);
      assert.match(trim.stderr, /is in use by another process .*stop the hub first/);
    } finally {
      await running.close();
    }
    assert.equal(info(path).count, 5, "the refused trim removed nothing");
  });

  it("says what is wrong with a missing store or a bad argument", () => {
    const missing = history(["--transport", `sqlite:${join(directory, "none", "history.db")}`]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /there is no history store at .*none\/history\.db/);
    for (const [args, message] of [
      [["trim"], /trim needs --keep, --max-age or --max-bytes/],
      [["trim", "--keep", "1.5"], /--keep takes a whole number, got 1\.5/],
      [["trim", "--max-age", "soon"], /--max-age takes a duration/],
      [["compact"], /history takes info or trim, got compact/],
      [["--transport", "memory"], /--transport takes sqlite:<path>/],
    ] as const) {
      const result = history([...args]);
      assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});
