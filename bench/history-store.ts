/** A large history store for the benchmarks, and a subscriber that resumes from it. */
import { request } from "node:http";
import { createUpdate } from "../src/hub/update.ts";
import { SqliteTransport } from "../src/transports/sqlite.ts";

/** The one topic of the benchmark store. */
export const BENCH_TOPIC = "https://example.com/books/1";

/** Writes `count` updates of 100 bytes with ids e0…, in transactions of 10,000, straight into a store. */
export async function fillStore(path: string, count: number): Promise<void> {
  const transport = new SqliteTransport({ path, retention: { maxCount: count }, durability: "normal" });
  for (let from = 0; from < count; from += 10_000) {
    const batch: Promise<unknown>[] = [];
    for (let i = from; i < Math.min(count, from + 10_000); i++) {
      batch.push(
        transport.publish(
          createUpdate({
            topics: [BENCH_TOPIC],
            data: "x".repeat(100),
            id: `e${i}`,
            type: undefined,
            retry: undefined,
            private: false,
          }),
        ),
      );
    }
    await Promise.all(batch);
  }
  await transport.close();
}

/** Subscribes with a cursor; resolves when `count` events arrived, with the time to the first. */
export function replayCount(
  hubUrl: string,
  token: string,
  cursor: string,
  count: number,
): Promise<{ firstMs: number; allMs: number }> {
  const started = performance.now();
  const url = new URL(hubUrl);
  url.searchParams.set("match", BENCH_TOPIC);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers: { Authorization: `Bearer ${token}`, "Last-Event-ID": cursor } },
      (res) => {
        let seen = 0;
        let firstMs = 0;
        let carry = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          // Count events by their id lines; a line may be split across chunks.
          const text = carry + chunk;
          const lastBreak = text.lastIndexOf("\n");
          carry = text.slice(lastBreak + 1);
          const lines = text.slice(0, lastBreak + 1);
          for (let at = lines.indexOf("id: "); at !== -1; at = lines.indexOf("id: ", at + 4)) {
            if (at !== 0 && lines[at - 1] !== "\n") continue;
            if (seen++ === 0) firstMs = performance.now() - started;
          }
          if (seen >= count) {
            resolve({ firstMs, allMs: performance.now() - started });
            req.destroy();
          }
        });
        res.on("error", () => {});
      },
    );
    req.on("error", (error) => {
      if (!req.destroyed) reject(error);
    });
    req.end();
  });
}
