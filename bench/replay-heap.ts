/**
 * Whether replaying a long history leaves memory behind: a hub in this process (so its heap can
 * be collected and read) replays a store of N events to a subscriber R times; after each replay
 * it prints the live heap after a full collection. A flat heapUsed means nothing is kept per
 * replayed event; RSS and heapTotal show what V8 reserves meanwhile.
 *
 *   node scripts/node24.js --expose-gc bench/replay-heap.ts [events=300000] [replays=6]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mintToken } from "../src/auth/mint.ts";
import { resolveServeConfig } from "../src/cli/resolve-config.ts";
import { startHub } from "../src/cli/start-hub.ts";
import { fillStore, replayCount } from "./history-store.ts";
import { BENCH_ISSUER, BENCH_SECRET } from "./spawn-hub.ts";

const [events = 300_000, replays = 6] = process.argv.slice(2).map(Number);
const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) throw new Error("run with --expose-gc");
const directory = mkdtempSync(join(tmpdir(), "quicksilver-bench-replay-heap-"));
try {
  const path = join(directory, "history.db");
  await fillStore(path, events);
  const config = resolveServeConfig(
    {
      listen: "127.0.0.1:0",
      issuer: BENCH_ISSUER,
      "publisher-key": BENCH_SECRET,
      transport: `sqlite:${path}`,
      "history-size": String(events),
    },
    {},
  );
  const hub = await startHub(config);
  const token = await mintToken({
    issuer: BENCH_ISSUER,
    audience: hub.hubUrl,
    key: BENCH_SECRET,
    subscribe: ["*"],
  });
  const mib = (bytes: number) => Math.round(bytes / 1_048_576);
  for (let run = 1; run <= replays; run++) {
    await replayCount(hub.hubUrl, token, "e0", events - 1);
    collect();
    const memory = process.memoryUsage();
    process.stdout.write(
      `replay ${run}: heapUsed ${mib(memory.heapUsed)} MiB, heapTotal ${mib(memory.heapTotal)} MiB, rss ${mib(memory.rss)} MiB\n`,
    );
  }
  await hub.close();
} finally {
  rmSync(directory, { recursive: true, force: true });
}
