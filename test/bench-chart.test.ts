import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderChart } from "../bench/harness/chart.ts";
import type { AnyScenario, ResultRow } from "../bench/harness/scenario.ts";
import type { LatencySummary } from "../bench/harness/stats.ts";

interface FakeResult {
  readonly case: string;
  readonly rate: number;
  readonly deliver?: LatencySummary;
  readonly invalid?: string;
}

function scenario(options: { latency: boolean; higherIsBetter?: boolean }): AnyScenario {
  return {
    name: "fake & <scenario>",
    summary: 'a "tiny" scenario for the chart',
    cases: () => [],
    label: (c: string) => c,
    run: () => Promise.reject(new Error("not run")),
    headline: {
      label: "events/s",
      value: (r: FakeResult) => r.rate,
      higherIsBetter: options.higherIsBetter ?? true,
    },
    columns: [],
    ...(options.latency ? { latency: (r: FakeResult) => r.deliver } : {}),
  };
}

const latency = (p50: number, max: number, count = 100): LatencySummary => ({
  count,
  p50,
  p99: p50 * 4,
  p999: p50 * 8,
  max,
});
const SMALL = "1,000 subscribers & <32 B>";
const LARGE = "10,000 subscribers, 'quoted'";
const row = (hub: string, label: string, rate: number, extra: Partial<FakeResult> = {}): ResultRow => ({
  hub,
  label,
  result: { case: label, rate, ...extra },
});
const ROWS: ResultRow[] = [
  row("quicksilver", SMALL, 120_000, { deliver: latency(0.4, 12) }),
  row("nchan", SMALL, 48_000, { deliver: latency(2, 250) }),
  row("naive", SMALL, 9_000, { deliver: latency(5, 900), invalid: "a generator used 97% of a core <sic>" }),
  row("quicksilver", LARGE, 90_000, { deliver: latency(1, 30) }),
  row("nchan", LARGE, 30_000, { deliver: latency(Number.NaN, Number.NaN, 0) }),
  row("naive", LARGE, 3_000, { deliver: latency(20, 1500) }),
];

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
const TAG = /^<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>$/;

/** A small XML check: every tag well-formed and closed in order, no stray `&` or `<` anywhere. */
function assertWellFormed(xml: string): void {
  const tokens = xml.match(/<[^<>]*>|[^<]+/g) ?? [];
  assert.equal(tokens.join(""), xml, "a `<` that starts no tag");
  const open: string[] = [];
  for (const token of tokens) {
    if (!token.startsWith("<")) {
      assert.doesNotMatch(token.replace(ENTITY, ""), /[&<]/, `unescaped text: ${token}`);
      continue;
    }
    const match = TAG.exec(token);
    assert.ok(match, `malformed tag: ${token}`);
    const [, closing, name, attributes, selfClosing] = match;
    assert.doesNotMatch(attributes!.replace(ENTITY, ""), /&/, `unescaped attribute: ${token}`);
    if (closing === "/") assert.equal(open.pop(), name, `mismatched ${token}`);
    else if (selfClosing !== "/") open.push(name!);
  }
  assert.deepEqual(open, [], "unclosed tags");
  assert.ok(xml.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
}

const esc = (s: string) =>
  s
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");

/** The headline bars, keyed by "hub|case" (attribute values unescaped back). */
function headlineBars(svg: string): Map<string, string> {
  const bars = new Map<string, string>();
  for (const [tag] of svg.matchAll(/<rect [^>]*class="bar[^"]*"[^>]*>/g)) {
    const hub = /data-hub="([^"]*)"/.exec(tag)![1]!;
    const label = /data-case="([^"]*)"/.exec(tag)![1]!;
    const key = `${hub}|${label}`;
    assert.ok(!bars.has(key), `two bars for ${key}`);
    bars.set(key, tag);
  }
  return bars;
}

describe("the benchmark chart", () => {
  const withLatency = renderChart(scenario({ latency: true }), ROWS);
  const withoutLatency = renderChart(scenario({ latency: false }), ROWS);

  it("is well-formed XML with every label escaped", () => {
    assertWellFormed(withLatency);
    assertWellFormed(withoutLatency);
    assert.ok(withLatency.includes(esc(SMALL)));
    assert.ok(!withLatency.includes(SMALL));
    assert.ok(withLatency.includes(esc("fake & <scenario>")));
    assert.ok(withLatency.includes(esc('a "tiny" scenario for the chart')));
  });

  it("draws one headline bar per row, longest for the highest figure", () => {
    const bars = headlineBars(withLatency);
    assert.equal(bars.size, ROWS.length);
    for (const r of ROWS) assert.ok(bars.has(`${esc(r.hub)}|${esc(r.label)}`), `${r.hub}, ${r.label}`);
    const width = (key: string) => Number(/ width="([\d.]+)"/.exec(bars.get(key)!)![1]);
    assert.ok(width(`quicksilver|${esc(SMALL)}`) > width(`nchan|${esc(SMALL)}`));
    assert.ok(width(`nchan|${esc(SMALL)}`) > width(`naive|${esc(SMALL)}`));
    assert.match(withLatency, />120,000</, "figures and ticks have thousands separators");
  });

  it("names every hub in the legend, Quicksilver first", () => {
    const legend = [...withLatency.matchAll(/<g class="legend" data-hub="([^"]*)">/g)].map((m) => m[1]);
    assert.deepEqual(legend, ["quicksilver", "nchan", "naive"]);
    for (const hub of legend)
      assert.match(withLatency, new RegExp(`<g class="legend" data-hub="${hub}">.*>${hub}</text></g>`));
  });

  it("marks an invalid run on its bar and with its reason", () => {
    const bars = headlineBars(withLatency);
    assert.match(bars.get(`naive|${esc(SMALL)}`)!, /class="bar invalid"/);
    assert.doesNotMatch(bars.get(`nchan|${esc(SMALL)}`)!, /invalid/);
    assert.ok(withLatency.includes(`invalid: ${esc("a generator used 97% of a core <sic>")}`));
    const long = renderChart(scenario({ latency: false }), [
      row("quicksilver", "x", 1, { invalid: "lost events ".repeat(40) }),
    ]);
    const note = /class="invalid-note"[^>]*>([^<]*)</.exec(long)![1]!;
    assert.ok(note.length < 120 && note.endsWith("…"), note);
  });

  it("gives each other hub's ratio as how many times better Quicksilver is", () => {
    assert.ok(withLatency.includes("QS 2.50×"), "120,000 / 48,000 deliveries when higher is better");
    assert.ok(withLatency.includes("QS 30.00×"), "90,000 / 3,000");
    const lower = renderChart(scenario({ latency: false, higherIsBetter: false }), ROWS);
    assert.ok(lower.includes("QS 0.40×"), "48,000 / 120,000 when lower is better");
    assert.ok(!/120,000\s+QS/.test(withLatency), "no ratio on Quicksilver's own bar");
  });

  it("charts latency percentiles only when the scenario measures them", () => {
    assert.doesNotMatch(withoutLatency, /class="latency"|latency, ms/);
    assert.match(withLatency, /latency, ms/);
    const latencyRows = [
      ...withLatency.matchAll(/<g class="latency" data-hub="([^"]*)" data-case="([^"]*)">/g),
    ];
    // nchan's second case has no samples (count 0, NaN): skipped, not drawn at zero.
    assert.equal(latencyRows.length, ROWS.length - 1);
    assert.ok(!latencyRows.some((m) => m[1] === "nchan" && m[2] === esc(LARGE)));
    const ticks = [...withLatency.matchAll(/<text[^>]*class="tick"[^>]*>([^<]*)</g)].map((m) => m[1]);
    for (const decade of ["0.1", "1", "10", "100", "1,000", "10,000"])
      assert.ok(ticks.includes(decade), decade);
    const none = renderChart(scenario({ latency: true }), [row("quicksilver", "x", 1), row("nchan", "x", 2)]);
    assert.doesNotMatch(none, /latency, ms/, "no panel when no row has a summary");
    assertWellFormed(none);
  });

  it("is deterministic and grows with the number of rows", () => {
    assert.equal(renderChart(scenario({ latency: true }), structuredClone(ROWS)), withLatency);
    const height = (svg: string) => Number(/height="(\d+)"/.exec(svg)![1]);
    const fewer = renderChart(scenario({ latency: true }), ROWS.slice(0, 3));
    assert.ok(height(fewer) < height(withLatency));
    assert.ok(height(withoutLatency) < height(withLatency));
  });

  it("shows a case a hub failed outright as invalid, without reading figures it does not have", () => {
    const figures = scenario({ latency: true });
    // A failed case has no figures: reading one would throw.
    const strict: AnyScenario = {
      ...figures,
      headline: { ...figures.headline, value: (r: FakeResult) => r.rate.toFixed(0).length },
      latency: (r: FakeResult) => r.deliver!,
    };
    const failed: ResultRow = {
      hub: "nchan",
      label: SMALL,
      result: { case: SMALL, invalid: "failed: subscribers were not answered", noFigures: true },
    };
    const svg = renderChart(strict, [ROWS[0]!, failed]);
    assertWellFormed(svg);
    assert.match(headlineBars(svg).get(`nchan|${esc(SMALL)}`)!, /class="bar invalid"/);
    assert.match(svg, /failed: subscribers were not answered/);
  });
});
