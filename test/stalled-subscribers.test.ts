import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { captureLog } from "./helpers/captured-log.ts";
import { openRawStream, type RawStream } from "./helpers/raw-stream.ts";
import { watchSubscribeResponses } from "./helpers/server-streams.ts";
import { subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

// Memory is measured after a full collection, so that garbage left by earlier work does not count.
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

const MiB = 1024 * 1024;
const directory = mkdtempSync(join(tmpdir(), "quicksilver-stalled-"));
after(() => rmSync(directory, { recursive: true, force: true }));

/**
 * Bytes held in Buffers (outside the JavaScript heap), once garbage is collected: a few times,
 * since V8 frees the memory of collected buffers in the background.
 */
async function bufferBytes(): Promise<number> {
  let least = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 3; i++) {
    collectGarbage();
    await new Promise(setImmediate);
    least = Math.min(least, process.memoryUsage().arrayBuffers);
  }
  return least;
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
      const before = await bufferBytes();
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
      const held = (await bufferBytes()) - before;
      // Each stalled replay may hold a few updates (a page, a slice queued, one chunk in the
      // socket's buffer): a few MiB, far from the 24 MiB of the whole history.
      assert.ok(held < stalled * 6 * MiB, `${stalled} stalled replays hold ${Math.round(held / MiB)} MiB`);
      assert.equal(hub.hub.connectionCount, stalled, "the stalled subscribers are still served");
    } finally {
      for (const stream of streams) stream.close();
      await hub.close();
    }
  });

  it("closes the connection of a stream it ended, though the client neither reads nor closes", async () => {
    const log = captureLog();
    const hub = await startTestHub({ anonymous: true, "max-lifetime": "1s" }, log.logger);
    const responses = watchSubscribeResponses(hub.server);
    const sockets = watchStreamSockets(hub);
    let stream: RawStream | undefined;
    try {
      // A client that reads nothing never sees the end of the stream, so it never closes its side.
      stream = await openRawStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), { read: false });
      await log.waitFor((entry) => entry.fields.reason === "max_lifetime");
      const socket = sockets[0]!;
      // The end of the stream fitted in the kernel's buffers: it left the hub. Nothing more can
      // be sent on this connection: a socket kept open would be a descriptor no limit counts.
      if (!socket.writableFinished) await once(socket, "finish");
      await new Promise(setImmediate);
      assert.equal(socket.destroyed, true, "the hub closed the connection once the stream's end was sent");
      await responses.waitForClosed(1);
      assert.equal(hub.hub.connectionCount, 0);
    } finally {
      stream?.close();
      responses.stop();
      await hub.close();
    }
  });

  it("cuts an ended stream its client does not read within write-timeout, so that it stops", {
    timeout: 30_000,
  }, async () => {
    const hub = await startTestHub({
      anonymous: true,
      "write-timeout": "1s",
      // Kept until the hub stops, not dropped as a slow consumer.
      "max-queue-bytes": String(64 * MiB),
    });
    const responses = watchSubscribeResponses(hub.server);
    const sockets = watchStreamSockets(hub);
    let stream: RawStream | undefined;
    let stopped = false;
    try {
      const token = await hub.token({ publish: ["*"] });
      const topic = "https://example.com/stalled/end";
      stream = await openRawStream(subscribeUrl(hub.hubUrl, [["match", topic]]), { read: false });
      const data = "e".repeat(512 * 1024);
      // Enough to fill the kernel's buffers on loopback, several MiB, and more left in the hub's.
      for (let i = 0; i < 256 && sockets[0]?.writableNeedDrain !== true; i++) {
        const result = await publish(hub, { topic, data }, { token });
        assert.equal(result.status, 200, result.body);
      }
      await backedUp(() => sockets[0]);
      // Stopping ends the stream cleanly: the bytes queued behind a client that reads nothing
      // would keep its connection, and the hub's stop, waiting forever.
      await hub.close();
      stopped = true;
      await responses.waitForClosed(1);
      assert.equal(sockets[0]!.destroyed, true);
    } finally {
      stream?.close();
      responses.stop();
      if (!stopped) await hub.close();
    }
  });
});

for (const transport of ["sqlite", "memory"] as const) {
  describe(`a replay overtaken by ${transport} history's retention`, { timeout: 60_000 }, () => {
    it("cuts the stream rather than skip the updates dropped under it, and the reconnection says so", async () => {
      const hub = await startTestHub({
        anonymous: true,
        transport: transport === "sqlite" ? `sqlite:${join(directory, "overtaken.db")}` : "memory",
        "history-durability": "normal",
        "history-size": "100",
        "write-timeout": "10m",
        "max-queue-bytes": String(64 * MiB),
      });
      let stream: RawStream | undefined;
      try {
        const token = await hub.token({ publish: ["*"] });
        const topic = "https://example.com/stalled/overtaken";
        const data = "o".repeat(100 * 1024);
        const ids: string[] = [];
        const send = async () => {
          const result = await publish(hub, { topic, data }, { token });
          assert.equal(result.status, 200, result.body);
          ids.push(result.body);
        };
        // 10 MiB of history: more than the kernel buffers for a client that reads nothing.
        for (let i = 0; i < 100; i++) await send();
        const sockets = watchStreamSockets(hub);
        stream = await openRawStream(
          subscribeUrl(hub.hubUrl, [
            ["match", topic],
            ["last_event_id", "earliest"],
          ]),
          { read: false },
        );
        await backedUp(() => sockets[0]);
        // The replay waits for the socket while history drops every update it had yet to send.
        for (let i = 0; i < 100; i++) await send();
        const last = ids.at(-1)!;
        stream.resume();
        await stream.until((s) => s.chunks.at(-1)?.includes(`id: ${last}\n`) === true).catch(() => {}); // or the hub cut the stream
        const received = [...stream.body().matchAll(/^id: (.*)$/gm)].map((match) => match[1]!);
        // From its anchor (earliest: the oldest update then kept), a stream has no gap.
        assert.match(stream.head ?? "", /^mercure-last-event-id: earliest\r?$/im);
        assert.deepEqual(received, ids.slice(0, received.length), "no update skipped");
        assert.ok(received.length < ids.length, "the stream was cut");
        await stream.closed;
        // Reconnecting from its last event, the subscriber learns that it may have missed some.
        const again = await openRawStream(
          subscribeUrl(hub.hubUrl, [
            ["match", topic],
            ["last_event_id", received.at(-1)!],
          ]),
        );
        await again.until((s) => s.head !== undefined);
        assert.match(again.head ?? "", /^mercure-last-event-id: earliest\r?$/im);
        again.close();
      } finally {
        stream?.close();
        await hub.close();
      }
    });
  });
}
