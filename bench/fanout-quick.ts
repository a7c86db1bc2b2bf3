/**
 * A first fan-out measurement: N subscribers on one topic (raw sockets in this process), a hub in
 * its own process, and M publishes with K in flight. Prints deliveries per second, counted from
 * the first publish to the moment every subscriber holds every event.
 *
 *   node scripts/node24.js bench/fanout-quick.ts [subscribers=1000] [events=2000] [inflight=16] [bytes=32]
 *
 * The full harness (several generator processes, latency probes, /proc sampling, Nchan side by
 * side) is issue 6's; this is the quick look.
 */
import { connect, type Socket } from "node:net";
import { mintToken } from "../src/auth/mint.ts";
import { BENCH_ISSUER, BENCH_SECRET, spawnHub } from "./spawn-hub.ts";

const [subscribers = 1000, events = 2000, inflight = 16, bytes = 32] = process.argv.slice(2).map(Number);
const TOPIC = "https://example.com/bench";

const { process: hubProcess, hubUrl } = await spawnHub([
  "--anonymous",
  "--history-size",
  "0",
  "--max-connections-per-client",
  "100000",
]);
const url = new URL(hubUrl);
const token = await mintToken({ issuer: BENCH_ISSUER, audience: hubUrl, key: BENCH_SECRET, publish: ["*"] });

const sockets: Socket[] = [];
let delivered = 0;
const expected = subscribers * events;
let done: () => void = () => {};
const allDelivered = new Promise<void>((resolve) => {
  done = resolve;
});
const NEEDLE = Buffer.from("\nid: ");
await Promise.all(
  Array.from({ length: subscribers }, () => {
    return new Promise<void>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `GET ${url.pathname}?match=${encodeURIComponent(TOPIC)} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`,
        );
      });
      let headersSeen = false;
      socket.on("data", (chunk: Buffer) => {
        if (!headersSeen) {
          headersSeen = true;
          resolve();
        }
        // Count events: every event starts with "id: " after a line break.
        let at = chunk.indexOf(NEEDLE);
        while (at !== -1) {
          delivered++;
          at = chunk.indexOf(NEEDLE, at + 1);
        }
        if (delivered >= expected) done();
      });
      sockets.push(socket);
    });
  }),
);

const body = new URLSearchParams({ topic: TOPIC, data: "x".repeat(bytes) }).toString();
let sent = 0;
const started = performance.now();
async function publisher(): Promise<void> {
  while (sent < events) {
    sent++;
    const response = await fetch(hubUrl, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
    if (response.status !== 200) throw new Error(`publish answered ${response.status}`);
    await response.arrayBuffer();
  }
}
await Promise.all(Array.from({ length: inflight }, publisher));
const published = performance.now();
await allDelivered;
const elapsed = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    subscribers,
    events,
    inflight,
    payloadBytes: bytes,
    seconds: Number(elapsed.toFixed(3)),
    publishesPerSecond: Math.round(events / ((published - started) / 1000)),
    deliveriesPerSecond: Math.round(expected / elapsed),
  }),
);
for (const socket of sockets) socket.destroy();
hubProcess.kill("SIGTERM");
