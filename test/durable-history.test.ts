import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  closeSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
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
  if (hub.process.exitCode !== null || hub.process.signalCode !== null) return;
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

/** The store, its write-ahead log and its wal-index: the files a running hub has open. */
function storeFiles(path: string): string[] {
  return [path, `${path}-wal`, `${path}-shm`];
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Collects the hub's log lines from now on; `next` resolves with the first line that matches. */
function hubLog(hub: BenchHub) {
  const lines: LogLine[] = [];
  const waiting: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let partial = "";
  hub.process.stdout!.on("data", (chunk: Buffer) => {
    const text = partial + chunk.toString();
    const complete = text.split("\n");
    partial = complete.pop()!;
    for (const json of complete) {
      const line = JSON.parse(json) as LogLine;
      lines.push(line);
      for (const waiter of waiting.filter((w) => w.match(line))) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  return {
    lines,
    next: (match: (line: LogLine) => boolean) =>
      new Promise<LogLine>((resolve) => {
        const seen = lines.find(match);
        if (seen) resolve(seen);
        else waiting.push({ match, resolve });
      }),
    /** Every line, once the hub has exited and its output is read to the end. */
    all: () =>
      new Promise<LogLine[]>((resolve) => {
        if (hub.process.stdout!.readableEnded) resolve(lines);
        else hub.process.stdout!.once("end", () => resolve(lines));
      }),
  };
}

const ERROR = 50;

async function health(hub: BenchHub): Promise<{ status: number; body: { status: string; store?: string } }> {
  const response = await fetch(new URL("/healthz", hub.hubUrl));
  return { status: response.status, body: (await response.json()) as { status: string; store?: string } };
}

async function refusedAsUnavailable(response: Response): Promise<void> {
  const body = await response.text();
  assert.equal(response.status, 503, body);
  assert.equal((JSON.parse(body) as { code: string }).code, "store_unavailable");
}

function storeInfo(path: string): { count: number; newest: { id: string } | undefined } {
  const result = spawnSync(
    process.execPath,
    [BIN, "history", "info", "--json", "--transport", `sqlite:${path}`],
    {
      encoding: "utf8",
      timeout: 20_000,
    },
  );
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as { count: number; newest: { id: string } | undefined };
}

describe("a store whose files are removed or replaced under a running hub", () => {
  it("refuses publishes once the store is removed, and says so in its health and, once, in its log", {
    timeout: 30_000,
  }, async () => {
    const path = join(directory, "removed", "history.db");
    const hub = await spawnHub(["--transport", `sqlite:${path}`]);
    const log = hubLog(hub);
    try {
      await publishIds(hub, ["kept"]);
      assert.deepEqual(await health(hub), { status: 200, body: { status: "ok", streams: 0 } });
      for (const file of storeFiles(path)) unlinkSync(file);

      // Acknowledging now would promise an update that the next start cannot find.
      await refusedAsUnavailable(await publish(hub, "lost"));
      await refusedAsUnavailable(await publish(hub, "lost-too"));
      const unhealthy = await health(hub);
      assert.equal(unhealthy.status, 503);
      assert.equal(unhealthy.body.status, "store_unavailable");
      assert.match(unhealthy.body.store ?? "", /history\.db was removed/);
      await log.next((line) => line.level === ERROR);
    } finally {
      await stopped(hub);
    }
    const errors = (await log.all()).filter((line) => line.level === ERROR);
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.match(errors[0]!.msg, new RegExp(`${path.replaceAll(".", "\\.")} was removed`));

    // A new store in its place holds none of the refused updates.
    const restarted = await spawnHub(["--transport", `sqlite:${path}`]);
    try {
      await publishIds(restarted, ["fresh"]);
    } finally {
      await stopped(restarted);
    }
    const after = storeInfo(path);
    assert.equal(after.count, 1);
    assert.equal(after.newest?.id, "fresh");
  });

  it("notices a removed store without a publish: the health says so", { timeout: 20_000 }, async () => {
    const path = join(directory, "removed-idle", "history.db");
    const hub = await spawnHub(["--transport", `sqlite:${path}`]);
    const log = hubLog(hub);
    try {
      await publishIds(hub, ["kept"]);
      for (const file of storeFiles(path)) unlinkSync(file);
      // The background check (once a second) logs it.
      const line = await log.next((l) => l.level === ERROR);
      assert.match(line.msg, /was removed/);
      const unhealthy = await health(hub);
      assert.equal(unhealthy.status, 503);
      assert.equal(unhealthy.body.status, "store_unavailable");
    } finally {
      await stopped(hub);
    }
  });

  it("refuses publishes once another file takes the store's place, and writes to neither", async () => {
    const path = join(directory, "replaced", "history.db");
    const moved = join(directory, "replaced", "moved.db");
    const hub = await spawnHub(["--transport", `sqlite:${path}`]);
    try {
      await publishIds(hub, ["kept"]);
      const [db, wal, shm] = storeFiles(path);
      renameSync(db!, moved);
      renameSync(wal!, `${moved}-wal`);
      renameSync(shm!, `${moved}-shm`);
      for (const file of storeFiles(path)) writeFileSync(file, `another ${file}`);
      await refusedAsUnavailable(await publish(hub, "refused"));
      const unhealthy = await health(hub);
      assert.equal(unhealthy.status, 503);
      assert.match(unhealthy.body.store ?? "", /history\.db was replaced/);
    } finally {
      await stopped(hub);
    }
    // Stopping neither checkpointed into the new files nor deleted them.
    for (const file of storeFiles(path)) assert.equal(readFileSync(file, "utf8"), `another ${file}`);
    // The store that was moved away holds what was acknowledged, and not the refused update.
    const movedInfo = storeInfo(moved);
    assert.equal(movedInfo.count, 1);
    assert.equal(movedInfo.newest?.id, "kept");
  });
});

/**
 * Whether `chattr +i` works here: it needs root (CAP_LINUX_IMMUTABLE) and a file system with
 * file attributes (ext4, xfs, btrfs; not tmpfs on older kernels, not overlayfs).
 */
function immutableUnsupported(): string | false {
  const probe = join(directory, "chattr-probe");
  writeFileSync(probe, "");
  const set = spawnSync("chattr", ["+i", probe], { encoding: "utf8" });
  spawnSync("chattr", ["-i", probe]);
  rmSync(probe, { force: true });
  if (set.error) return `chattr is not available (${set.error.message})`;
  return set.status === 0 ? false : `chattr +i fails here: ${set.stderr.trim()}`;
}

function chattr(flag: "+i" | "-i", file: string): void {
  const result = spawnSync("chattr", [flag, file], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
}

/** Writes the file's dirty pages back, so that the next write to a mapped page faults. */
function writeBack(file: string): void {
  const fd = openSync(file, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

describe("a store file that cannot be written", { skip: immutableUnsupported() }, () => {
  it("refuses publishes while the wal-index (-shm) is immutable, without dying, then recovers", async () => {
    const path = join(directory, "immutable-shm", "history.db");
    const shm = `${path}-shm`;
    const hub = await spawnHub(["--transport", `sqlite:${path}`]);
    try {
      await publishIds(hub, ["before"]);
      chattr("+i", shm);
      try {
        // SQLite maps the -shm file: writing a page of an immutable file raises SIGBUS.
        writeBack(shm);
        await refusedAsUnavailable(await publish(hub, "refused"));
        // A replay may write to the -shm too (SQLite's read marks).
        const replay = await fetch(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
          headers: { Authorization: `Bearer ${await token(hub, "subscribe")}`, "Last-Event-ID": "before" },
        });
        assert.equal(replay.status, 503);
        assert.equal(((await replay.json()) as { code: string }).code, "history_unavailable");
        const unhealthy = await health(hub);
        assert.equal(unhealthy.status, 503);
        assert.match(unhealthy.body.store ?? "", /history\.db-shm cannot be written/);
      } finally {
        chattr("-i", shm);
      }
      await publishIds(hub, ["after"]);
      assert.equal((await health(hub)).status, 200);
      assert.deepEqual(await replayedIds(hub, "earliest", 2), ["before", "after"]);
    } finally {
      await stopped(hub);
    }
    assert.equal(storeInfo(path).count, 2);
  });

  it("stops cleanly while the -shm is immutable, keeping what it acknowledged", async () => {
    const path = join(directory, "immutable-shm-stop", "history.db");
    const shm = `${path}-shm`;
    const hub = await spawnHub(["--transport", `sqlite:${path}`]);
    const exited = new Promise<[number | null, string | null]>((resolve) =>
      hub.process.once("exit", (code, signal) => resolve([code, signal])),
    );
    try {
      await publishIds(hub, ["kept"]);
      chattr("+i", shm);
      writeBack(shm);
      // Closing the store checkpoints its log, which writes to the -shm.
      hub.process.kill("SIGTERM");
      assert.deepEqual(await exited, [0, null]);
    } finally {
      chattr("-i", shm);
      await stopped(hub);
    }
    assert.equal(storeInfo(path).newest?.id, "kept");
  });

  it("refuses publishes while the write-ahead log is immutable, naming it", async () => {
    const path = join(directory, "immutable-wal", "history.db");
    const wal = `${path}-wal`;
    const hub = await spawnHub(["--transport", `sqlite:${path}`]);
    try {
      await publishIds(hub, ["before"]);
      chattr("+i", wal);
      try {
        await refusedAsUnavailable(await publish(hub, "refused"));
        assert.match((await health(hub)).body.store ?? "", /history\.db-wal cannot be written/);
      } finally {
        chattr("-i", wal);
      }
      await publishIds(hub, ["after"]);
    } finally {
      await stopped(hub);
    }
  });

  for (const suffix of ["", "-wal", "-shm"]) {
    it(`refuses to start while history.db${suffix} is immutable, naming it and what to do`, async () => {
      const path = join(directory, `immutable-at-start${suffix}`, "history.db");
      const hub = await spawnHub(["--transport", `sqlite:${path}`]);
      await publishIds(hub, ["kept"]);
      // Killed, so that the log and the wal-index stay beside the store, as after a crash.
      const exited = new Promise((resolve) => hub.process.once("exit", resolve));
      hub.process.kill("SIGKILL");
      await exited;
      const file = `${path}${suffix}`;
      chattr("+i", file);
      try {
        const result = spawnSync(
          process.execPath,
          [BIN, "serve", "--listen", "127.0.0.1:0", "--dev", "--transport", `sqlite:${path}`],
          { encoding: "utf8", timeout: 20_000 },
        );
        assert.equal(result.status, 1, result.stderr);
        assert.match(result.stderr, new RegExp(`${file.replaceAll(".", "\\.")} cannot be written`));
        assert.match(result.stderr, /chattr -i/);
      } finally {
        chattr("-i", file);
      }
      assert.equal(storeInfo(path).newest?.id, "kept");
    });
  }
});
