/**
 * Durable history at scale: a store holding N events (1 million by default), then
 * - the hub's start time and RSS on that store, against the same hub on an empty one;
 * - time to resume from a recent cursor (the last 100 events) and from a cursor near the oldest
 *   end (time to the first event, and to the whole replay), with the hub's peak RSS meanwhile;
 * - publish throughput with the sqlite store (both durabilities) against the memory transport.
 *
 *   node scripts/node24.js bench/history.ts [events=1000000] [publishers=64] [seconds=5]
 *
 * The generator is this process; the hub runs in its own, and its RSS is read from /proc.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken } from "../src/auth/mint.ts";
import { BENCH_TOPIC, fillStore, replayCount } from "./history-store.ts";
import { BENCH_ISSUER, BENCH_SECRET, type BenchHub, spawnHub } from "./spawn-hub.ts";

const [events = 1_000_000, publishers = 64, seconds = 5] = process.argv.slice(2).map(Number);
const TOPIC = BENCH_TOPIC;
const DATA = "x".repeat(100);
const directory = mkdtempSync(join(tmpdir(), "quicksilver-bench-history-"));
const results: Record<string, unknown> = { events, publishers, seconds };

try {
  const path = join(directory, "history.db");
  const started = performance.now();
  await fillStore(path, events);
  results.fillSeconds = round((performance.now() - started) / 1000);
  progress(`filled the store with ${events} events`);

  const empty = await timedStart(["--transport", `sqlite:${join(directory, "empty.db")}`]);
  results.emptyStore = { startMs: empty.startMs, rssMiB: rssMiB(empty.hub) };
  await stop(empty.hub);

  const { hub, startMs } = await timedStart([
    "--transport",
    `sqlite:${path}`,
    "--history-size",
    String(events),
  ]);
  results.fullStore = { startMs, rssMiB: rssMiB(hub) };
  const subscriber = await mintToken({
    issuer: BENCH_ISSUER,
    audience: hub.hubUrl,
    key: BENCH_SECRET,
    subscribe: ["*"],
  });
  const recent: number[] = [];
  for (let i = 0; i < 20; i++)
    recent.push(round((await replayCount(hub.hubUrl, subscriber, `e${events - 101}`, 100)).allMs));
  progress("resumed from a recent cursor");
  results.resumeRecent100 = { medianMs: median(recent), maxMs: Math.max(...recent) };

  // Twice: a second replay that does not raise the peak shows the first one's growth was garbage
  // not yet collected, not memory held per event.
  const nearOldest = [];
  for (let run = 0; run < 2; run++) {
    const peak = sampleRss(hub);
    const oldest = await replayCount(hub.hubUrl, subscriber, "e9", events - 10);
    nearOldest.push({
      firstEventMs: round(oldest.firstMs),
      allMs: round(oldest.allMs),
      eventsPerSecond: Math.round((events - 10) / (oldest.allMs / 1000)),
      peakRssMiB: peak.stop(),
    });
  }
  results.resumeNearOldest = nearOldest;
  progress("resumed from near the oldest end");
  await stop(hub);

  results.publishesPerSecond = {
    sqliteFull: await publishRate(["--transport", `sqlite:${path}`, "--history-size", String(events)]),
    sqliteNormal: await publishRate([
      "--transport",
      `sqlite:${path}`,
      "--history-size",
      String(events),
      "--history-durability",
      "normal",
    ]),
    memory: await publishRate(["--transport", "memory", "--history-size", "1000"]),
  };
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} finally {
  rmSync(directory, { recursive: true, force: true });
}

async function timedStart(flags: string[]): Promise<{ hub: BenchHub; startMs: number }> {
  const started = performance.now();
  const hub = await spawnHub(flags);
  return { hub, startMs: round(performance.now() - started) };
}

async function stop(hub: BenchHub): Promise<void> {
  const exited = new Promise((resolve) => hub.process.once("exit", resolve));
  hub.process.kill("SIGTERM");
  await exited;
}

/** Publishes with `publishers` requests in flight for `seconds`; answers acknowledged per second. */
async function publishRate(flags: string[]): Promise<number> {
  const hub = await spawnHub(flags);
  const token = await mintToken({
    issuer: BENCH_ISSUER,
    audience: hub.hubUrl,
    key: BENCH_SECRET,
    publish: ["*"],
  });
  const agent = new Agent({ keepAlive: true, maxSockets: publishers });
  const body = new URLSearchParams({ topic: TOPIC, data: DATA }).toString();
  let acknowledged = 0;
  let running = true;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        hub.hubUrl,
        {
          method: "POST",
          agent,
          headers: {
            Authorization: `Bearer ${token}`,
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": Buffer.byteLength(body),
          },
        },
        (res) => {
          if (res.statusCode === 200) acknowledged++;
          else reject(new Error(`publish answered ${res.statusCode}`));
          res.resume();
          res.on("end", resolve);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const loop = async () => {
    while (running) await one();
  };
  const started = performance.now();
  const loops = Array.from({ length: publishers }, loop);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  running = false;
  await Promise.all(loops);
  const rate = Math.round(acknowledged / ((performance.now() - started) / 1000));
  agent.destroy();
  await stop(hub);
  return rate;
}

function rssMiB(hub: BenchHub): number {
  const status = readFileSync(`/proc/${hub.process.pid}/status`, "utf8");
  return round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024);
}

/** Polls the hub's RSS every 50 ms; `stop` answers the highest seen. */
function sampleRss(hub: BenchHub): { stop(): number } {
  let peak = rssMiB(hub);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(hub));
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMiB(hub));
    },
  };
}

function progress(step: string): void {
  process.stderr.write(`${step}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
