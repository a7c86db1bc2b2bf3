import assert from "node:assert/strict";
import { BENCH_ISSUER, BENCH_SECRET, type BenchHub, spawnHub } from "../../bench/spawn-hub.ts";
import { mintToken } from "../../src/auth/mint.ts";
import { openStream, subscribeUrl } from "./sse-client.ts";

function token(hub: BenchHub, grant: "publish" | "subscribe"): Promise<string> {
  return mintToken({ issuer: BENCH_ISSUER, audience: hub.hubUrl, key: BENCH_SECRET, [grant]: ["*"] });
}

/**
 * Every update in the store at `path`, oldest first, read by a subscriber of a fresh hub (the CLI,
 * stopped afterwards): what a restart finds. A last update, `final`, marks the end of the replay.
 */
export async function storedIds(path: string, topic: string): Promise<string[]> {
  const hub = await spawnHub(["--transport", `sqlite:${path}`]);
  try {
    const marker = await fetch(hub.hubUrl, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${await token(hub, "publish")}`,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({ topic, id: "final", data: "final" }),
    });
    assert.equal(marker.status, 200);
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { Authorization: `Bearer ${await token(hub, "subscribe")}`, "Last-Event-ID": "earliest" },
    });
    while (stream.events.at(-1)?.id !== "final") await stream.waitForEvents(stream.events.length + 1);
    stream.close();
    return stream.events.slice(0, -1).map((event) => event.id ?? "");
  } finally {
    const exited = new Promise((resolve) => hub.process.once("exit", resolve));
    hub.process.kill("SIGTERM");
    await exited;
  }
}
