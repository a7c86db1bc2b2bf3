/**
 * The benchmark harness: runs a scenario against several hubs side by side, in one run, and
 * prints a table with ratios to Quicksilver; the raw figures go to bench/results/ as JSON.
 *
 *   npm run bench -- fanout [--quick] [--hubs quicksilver,nchan,naive]
 *
 * The hub runs on core 0 and the generators and publisher on the other cores (taskset), so that
 * the hub is measured, not its clients; a run whose clients saturated a core is marked invalid.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { ADAPTERS } from "./harness/adapters.ts";
import { GeneratorPool, SOCKETS_PER_GENERATOR } from "./harness/generator-pool.ts";
import { processTree } from "./harness/proc-sampler.ts";
import { type FanoutCase, type FanoutResult, fanout } from "./scenarios/fanout.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { quick: { type: "boolean" }, hubs: { type: "string" } },
});
const [scenario] = positionals;
const hubs = (values.hubs ?? "quicksilver,nchan,naive").split(",");
for (const hub of hubs)
  if (!(hub in ADAPTERS)) throw new Error(`unknown hub ${hub}: ${Object.keys(ADAPTERS).join(", ")}`);

const FANOUT_CASES: Record<"quick" | "full", FanoutCase[]> = {
  quick: [
    { subscribers: 1000, events: 1000, inflight: 16, bytes: 32 },
    { subscribers: 10_000, events: 100, inflight: 16, bytes: 32 },
  ],
  full: [
    { subscribers: 1000, events: 5000, inflight: 16, bytes: 32 },
    { subscribers: 1000, events: 2000, inflight: 16, bytes: 1024 },
    { subscribers: 10_000, events: 500, inflight: 16, bytes: 32 },
    { subscribers: 10_000, events: 200, inflight: 16, bytes: 1024 },
  ],
};

if (scenario !== "fanout") {
  process.stderr.write("usage: npm run bench -- fanout [--quick] [--hubs quicksilver,nchan,naive]\n");
  process.exit(2);
}

const clientCores = availableParallelism() > 1 ? `1-${availableParallelism() - 1}` : "0";
pin(process.pid, clientCores);
const cases = FANOUT_CASES[values.quick ? "quick" : "full"];
const results: { hub: string; result: FanoutResult }[] = [];
for (const c of cases) {
  for (const hub of hubs) {
    const target = await ADAPTERS[hub]!.start();
    const pool = GeneratorPool.start(Math.ceil(c.subscribers / SOCKETS_PER_GENERATOR));
    try {
      for (const pid of processTree(target.pid)) pin(pid, "0");
      for (const pid of pool.pids) pin(pid, clientCores);
      const result = await fanout(target, pool, c);
      results.push({ hub, result });
      process.stderr.write(`${hub} ${JSON.stringify(result)}\n`);
    } finally {
      await pool.close();
      await target.stop();
    }
  }
}

printTable(results);
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const file = new URL(
  `./results/fanout-${new Date().toISOString().replaceAll(":", "-")}.json`,
  import.meta.url,
);
writeFileSync(
  file,
  `${JSON.stringify({ scenario, quick: values.quick === true, hubs, results }, null, 2)}\n`,
);
process.stdout.write(`raw figures: ${file.pathname}\n`);

function printTable(rows: { hub: string; result: FanoutResult }[]): void {
  const lines = [
    "| subscribers | bytes | hub | deliveries/s | Quicksilver × | hub CPU µs/delivery | events/write | publish p99 ms | valid |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const { hub, result } of rows) {
    const reference = rows.find((r) => r.hub === "quicksilver" && r.result.case === result.case)?.result;
    const ratio = reference ? (reference.deliveriesPerSecond / result.deliveriesPerSecond).toFixed(2) : "-";
    lines.push(
      `| ${result.case.subscribers} | ${result.case.bytes} | ${hub} | ${result.deliveriesPerSecond} | ${ratio} | ${result.hubCpuMicrosPerDelivery} | ${result.eventsPerWrite} | ${result.publish.p99} | ${result.invalid ?? "yes"} |`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** Pins a process and all its threads to `cores`; a machine without taskset runs unpinned. */
function pin(pid: number, cores: string): void {
  try {
    execFileSync("taskset", ["-apc", cores, String(pid)], { stdio: "ignore" });
  } catch {
    // taskset missing or the process already gone: the figures are noisier, not wrong.
  }
}
