import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openStream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

const directory = mkdtempSync(join(tmpdir(), "quicksilver-full-"));
/** A small file system of its own, so that the store's disk can be filled without filling the machine's. */
const disk = join(directory, "disk");
after(() => {
  spawnSync("umount", [disk]);
  rmSync(directory, { recursive: true, force: true });
});

/** Mounts a 4 MiB tmpfs at `disk`: needs root (CAP_SYS_ADMIN). Returns why not, when it cannot. */
function smallDiskUnavailable(): string | false {
  writeFileSync(join(directory, "probe"), "");
  spawnSync("mkdir", ["-p", disk]);
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", disk], { encoding: "utf8" });
  if (mounted.error) return `mount is not available (${mounted.error.message})`;
  return mounted.status === 0 ? false : `a tmpfs cannot be mounted here: ${mounted.stderr.trim()}`;
}

/** Fills the disk with files, the last ones small, until nothing more fits; returns them. */
function fillDisk(): string[] {
  const fillers: string[] = [];
  for (const size of [256 * 1024, 4096]) {
    for (let i = 0; i < 1000; i++) {
      const file = join(disk, `filler-${fillers.length}`);
      try {
        writeFileSync(file, Buffer.alloc(size));
      } catch {
        rmSync(file, { force: true });
        break;
      }
      fillers.push(file);
    }
  }
  return fillers;
}

async function send(hub: TestHub, token: string, data: string): Promise<{ status: number; id: string }> {
  const result = await publish(hub, { topic: "https://example.com/full", data }, { token });
  return { status: result.status, id: result.body };
}

/** The ids of every update the hub replays from `earliest`, up to a marker published after them. */
async function replayedIds(hub: TestHub): Promise<string[]> {
  const token = await hub.token({ publish: ["*"] });
  const stream = await openStream(
    subscribeUrl(hub.hubUrl, [
      ["match", "*"],
      ["last_event_id", "earliest"],
    ]),
  );
  try {
    // The replay holds live updates back: once the marker arrives, the replay before it is whole.
    const marker = await send(hub, token, "marker");
    assert.equal(marker.status, 200);
    for (let count = 1; count <= 1000; count++) {
      const events = await stream.waitForEvents(count);
      if (events.at(-1)!.id === marker.id) return events.slice(0, -1).map((event) => event.id);
    }
    throw new Error("the marker never came");
  } finally {
    stream.close();
  }
}

async function health(hub: TestHub): Promise<{ status: number; body: { status: string } }> {
  const response = await fetch(new URL("/healthz", hub.hubUrl));
  return { status: response.status, body: (await response.json()) as { status: string } };
}

/** Resolves once /healthz answers 200; asks a bounded number of times, a little apart. */
async function healthy(hub: TestHub): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if ((await health(hub)).status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the hub never reported its store healthy again");
}

describe("a store whose disk fills up", { skip: smallDiskUnavailable(), timeout: 60_000 }, () => {
  it("refuses with 503 while the disk is full, reports it in health, keeps within history-size, and loses nothing it acknowledged", async () => {
    const path = join(disk, "history.db");
    const flags = { anonymous: true, transport: `sqlite:${path}`, "history-size": "5" };
    let hub = await startTestHub(flags);
    const token = await hub.token({ publish: ["*"] });
    const data = "f".repeat(20 * 1024);
    const acknowledged: string[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const sent = await send(hub, token, data);
        assert.equal(sent.status, 200);
        acknowledged.push(sent.id);
      }
      const fillers = fillDisk();
      // History is full: each of these commits would drop the oldest update, and cannot be written.
      for (let i = 0; i < 3; i++) {
        const refused = await publish(hub, { topic: "https://example.com/full", data }, { token });
        assert.equal(refused.status, 503, refused.body);
        assert.equal(JSON.parse(refused.body).code, "store_unavailable");
      }
      // The health says so, as for any store that cannot take updates.
      const failing = await health(hub);
      assert.equal(failing.status, 503);
      assert.equal(failing.body.status, "store_unavailable");
      for (const filler of fillers) rmSync(filler);
      // And says when it can again, without waiting for a publish to find out (a load balancer
      // that took the hub out of service sends none).
      await healthy(hub);
      // Writable again, without a restart.
      for (let i = 0; i < 10; i++) {
        const sent = await send(hub, token, data);
        assert.equal(sent.status, 200);
        acknowledged.push(sent.id);
      }
      assert.deepEqual(await replayedIds(hub), acknowledged.slice(-5));
      await hub.close();
      hub = await startTestHub(flags);
      // The marker of the first replay is history too now.
      assert.deepEqual((await replayedIds(hub)).slice(0, -1), acknowledged.slice(-4));
    } finally {
      await hub.close();
    }
  });
});
