/** A load test's report as a terminal shows it: one line per figure, the problems last. */
import type { LoadtestReport } from "./run-loadtest.ts";

const LABEL = 13;

/** The report, as text for a person. */
export function reportTable(report: LoadtestReport): string {
  const { subscribers, updates, deliveries, latencyMs } = report;
  const share =
    deliveries.expected === 0 ? "" : ` (${((100 * deliveries.received) / deliveries.expected).toFixed(2)}%)`;
  const lines: [string, string][] = [
    ["hub", report.hub],
    ["topic", `${report.topic} (${report.dialect === "legacy" ? "topic=" : "match="})`],
    [
      "subscribers",
      `${n(subscribers.requested)} requested, ${n(subscribers.connected)} connected, ${n(subscribers.accepted)} accepted, ${n(sum(subscribers.refused))} refused${counts(subscribers.refused)}`,
    ],
    [
      "updates",
      `${n(updates.sent)} sent at ${updates.rate}/s for ${updates.durationSeconds} s (${n(updates.dataBytes)} B of data), ${n(updates.acknowledged)} acknowledged, ${n(updates.failed)} failed${counts(updates.failures)}`,
    ],
    [
      "deliveries",
      `${n(deliveries.expected)} expected, ${n(deliveries.received)} received${share}, ${n(deliveries.perSecond)}/s`,
    ],
    [
      "latency",
      latencyMs === null
        ? "none measured (nothing delivered)"
        : `p50 ${latencyMs.p50} ms, p90 ${latencyMs.p90} ms, p99 ${latencyMs.p99} ms, max ${latencyMs.max} ms`,
    ],
  ];
  const problems = report.errors.length === 0 ? ["none"] : report.errors;
  problems.forEach((problem, i) => {
    lines.push([i === 0 ? "errors" : "", problem]);
  });
  return `${lines.map(([label, value]) => `${label.padEnd(LABEL)}${value}`).join("\n")}\n`;
}

/** ` (401 Unauthorized: 3, 429 Too Many Requests: 1)`, or nothing. */
function counts(byKind: Readonly<Record<string, number>>): string {
  const entries = Object.entries(byKind);
  return entries.length === 0
    ? ""
    : ` (${entries.map(([kind, count]) => `${kind}: ${n(count)}`).join(", ")})`;
}

function sum(byKind: Readonly<Record<string, number>>): number {
  return Object.values(byKind).reduce((a, b) => a + b, 0);
}

/** 12,345. */
function n(value: number): string {
  return value.toLocaleString("en-US");
}
