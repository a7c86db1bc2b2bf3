import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { openRawStream, type RawStream } from "./helpers/raw-stream.ts";
import { subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

// Memory is measured after a full collection, so that garbage left by earlier work does not count.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

const MiB = 1024 * 1024;
const directory = mkdtempSync(join(tmpdir(), "quicksilver-stalled-"));
after(() => rmSync(directory, { recursive: true, force: true }));

/** Bytes held in Buffers (outside the JavaScript heap), once garbage is collected. */
function bufferBytes(): number {
  collectGarbage();
  return process.memoryUsage().arrayBuffers;
}

/** The hub-side socket of every subscribe request, in the order they arrived. */
function watchStreamSockets(hub: TestHub): Socket[] {
  const sockets: Socket[] = [];
  const hubPath = new URL(hub.hubUrl).pathname;
  hub.server.on("request", (req) => {
    if (req.method === "GET" && req.url?.startsWith(hubPath)) sockets.push(req.socket);
  });
  return sockets;
}

/**
 * Resolves once the hub has found the socket backed up (its client reads nothing and the kernel's
 * buffers are full). Checked every few milliseconds, for a bounded number of times.
 */
async function backedUp(socket: () => Socket | undefined): Promise<void> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    if (socket()?.writableNeedDrain === true) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the hub never found the socket backed up");
}

describe("subscribers that read nothing", { timeout: 120_000 }, () => {
  it("holds a bounded slice of a durable history for each stalled replay, not a page of rows", async () => {
    const hub = await startTestHub({
      anonymous: true,
      transport: `sqlite:${join(directory, "replay.db")}`,
      "history-durability": "normal",
      // The stalled subscribers are kept while the memory is measured.
      "write-timeout": "10m",
    });
    const streams: RawStream[] = [];
    try {
      const token = await hub.token({ publish: ["*"] });
      const topic = "https://example.com/stalled/replay";
      // 48 updates of 512 KiB: 24 MiB of history, which a replay must not load at once.
      const data = "r".repeat(512 * 1024);
      for (let i = 0; i < 48; i++) {
        const result = await publish(hub, { topic, data }, { token });
        assert.equal(result.status, 200, result.body);
      }
      const sockets = watchStreamSockets(hub);
      const before = bufferBytes();
      const stalled = 4;
      for (let i = 0; i < stalled; i++) {
        streams.push(
          await openRawStream(
            subscribeUrl(hub.hubUrl, [
              ["match", topic],
              ["last_event_id", "earliest"],
            ]),
            { read: false },
          ),
        );
        await backedUp(() => sockets[i]);
      }
      const held = bufferBytes() - before;
      // Each stalled replay may hold a few updates (a page, a slice queued, one chunk in the
      // socket's buffer): a few MiB, far from the 24 MiB of the whole history.
      assert.ok(held < stalled * 6 * MiB, `${stalled} stalled replays hold ${Math.round(held / MiB)} MiB`);
      assert.equal(hub.hub.connectionCount, stalled, "the stalled subscribers are still served");
    } finally {
      for (const stream of streams) stream.close();
      await hub.close();
    }
  });
});
