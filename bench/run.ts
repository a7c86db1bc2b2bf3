/**
 * The benchmark harness: runs a scenario against several hubs side by side, in one run, and
 * prints a table with ratios to Quicksilver; the raw figures go to bench/results/ as JSON, and a
 * chart of throughput and latency percentiles beside them as SVG.
 *
 *   npm run bench -- <scenario> [--quick] [--hubs quicksilver,nchan,naive]
 *                                [--subscribers <n>] [--workers <n>|auto]   (capacity)
 *
 * The hub runs on core 0 and the generators and publisher on the other cores (taskset), so that
 * the hub is measured, not its clients; a run whose clients saturated a core is marked invalid.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ADAPTERS } from "./harness/adapters.ts";
import { renderChart } from "./harness/chart.ts";
import { MissingCommandError } from "./harness/required-command.ts";
import { pinCoordinator } from "./harness/rig.ts";
import { runCases } from "./harness/run-cases.ts";
import { type AnyScenario, type CaseParameters, headlineOf, type ResultRow } from "./harness/scenario.ts";
import { SCENARIOS } from "./scenarios/index.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: "boolean" },
    hubs: { type: "string" },
    subscribers: { type: "string" },
    workers: { type: "string" },
  },
});
const scenario = SCENARIOS[positionals[0] ?? ""];
if (scenario === undefined) {
  const list = Object.values(SCENARIOS)
    .map((s) => `  ${s.name.padEnd(8)} ${s.summary}`)
    .join("\n");
  process.stderr.write(
    `usage: npm run bench -- <scenario> [--quick] [--hubs quicksilver,nchan,naive] [--subscribers <n>] [--workers <n>|auto]\n\n${list}\n`,
  );
  process.exit(2);
}
const hubs = (values.hubs ?? (scenario.hubs?.names ?? ["quicksilver", "nchan", "naive"]).join(",")).split(
  ",",
);
const unknown = hubs.filter((hub) => !(hub in ADAPTERS));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown hub ${unknown.join(", ")}: the hubs are ${Object.keys(ADAPTERS).join(", ")}\n`,
  );
  process.exit(2);
}
const unfit = hubs.filter((hub) => scenario.hubs !== undefined && !scenario.hubs.names.includes(hub));
if (unfit.length > 0) {
  process.stderr.write(`${scenario.name} does not run ${unfit.join(", ")}: ${scenario.hubs!.reason}\n`);
  process.exit(2);
}
const parameters = caseParameters(values.subscribers, values.workers);

pinCoordinator();
const quick = values.quick === true;
let rows: ResultRow[];
try {
  rows = await runCases(scenario, Object.fromEntries(hubs.map((hub) => [hub, ADAPTERS[hub]!])), {
    quick,
    parameters,
    pinned: true,
    log: (line) => process.stderr.write(`${line}\n`),
  });
} catch (error) {
  // A program a hub needs is missing: one line that says what to install, not a stack.
  if (!(error instanceof MissingCommandError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

process.stdout.write(table(scenario, rows));
const directory = new URL("./results/", import.meta.url);
mkdirSync(directory, { recursive: true });
const stem = `${scenario.name}${quick ? "-quick" : ""}-${new Date().toISOString().replaceAll(":", "-").slice(0, 19)}`;
const json = new URL(`${stem}.json`, directory);
writeFileSync(
  json,
  `${JSON.stringify({ scenario: scenario.name, quick, hubs, parameters, rows }, null, 2)}\n`,
);
const svg = new URL(`${stem}.svg`, directory);
writeFileSync(svg, renderChart(scenario, rows));
process.stdout.write(`raw figures: ${json.pathname}\nchart: ${svg.pathname}\n`);

/** `--subscribers` and `--workers` (a count, 0 for one process without workers, or `auto`). */
function caseParameters(subscribers: string | undefined, workers: string | undefined): CaseParameters {
  const count = (name: string, value: string, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      process.stderr.write(`--${name} must be a whole number of at least ${min}, not ${value}\n`);
      process.exit(2);
    }
    return n;
  };
  return {
    ...(subscribers === undefined ? {} : { subscribers: count("subscribers", subscribers, 1) }),
    ...(workers === undefined ? {} : { workers: workers === "auto" ? "auto" : count("workers", workers, 0) }),
  };
}

/** The results as a Markdown table, each hub's headline figure also as a ratio to Quicksilver's. */
function table(s: AnyScenario, results: ResultRow[]): string {
  const headers = [
    "case",
    "hub",
    s.headline.label,
    "Quicksilver ×",
    ...s.columns.map((c) => c.header),
    "valid",
  ];
  const lines = [`| ${headers.join(" | ")} |`, `|${headers.map(() => "---").join("|")}|`];
  for (const row of results) {
    const reference = results.find((r) => r.hub === "quicksilver" && r.label === row.label);
    const mine = headlineOf(s, row.result);
    const theirs = reference === undefined ? Number.NaN : headlineOf(s, reference.result);
    const ratio = s.headline.higherIsBetter ? theirs / mine : mine / theirs;
    const cells = [
      row.label,
      row.hub,
      Number.isFinite(mine) ? mine : "-",
      Number.isFinite(ratio) ? ratio.toFixed(2) : "-",
      ...s.columns.map((c) => (row.result.noFigures ? "-" : c.value(row.result))),
      row.result.invalid ?? "yes",
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return `${lines.join("\n")}\n`;
}
