/**
 * The chart written beside a benchmark's JSON results: the headline figure per case and hub, with
 * its ratio to Quicksilver's, and the latency percentiles on a log axis. A self-contained SVG (no
 * fonts, scripts or stylesheets to fetch) so that GitHub shows it as a file or inside Markdown.
 */
import { type AnyScenario, headlineOf, type ResultRow } from "./scenario.ts";
import type { LatencySummary } from "./stats.ts";

const WIDTH = 900;
/** Hub names are right-aligned before this x; the plots run from here to PLOT_END. */
const PLOT_START = 150;
/** Room to the right of the plots for the printed figures, which must never be clipped. */
const PLOT_END = 680;
const BAR = 16;
const GAP = 4;
const QUICKSILVER = "quicksilver";
/** One colour per hub in first-seen order, Quicksilver first, so a hub keeps its colour across runs. */
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
/** Drawn from the widest to the narrowest, so each later, darker bar sits on top of the earlier. */
const PERCENTILES = [
  { key: "max", label: "max", opacity: 0.25 },
  { key: "p999", label: "p99.9", opacity: 0.45 },
  { key: "p99", label: "p99", opacity: 0.7 },
  { key: "p50", label: "p50", opacity: 1 },
] as const;

interface Chart {
  readonly scenario: AnyScenario;
  readonly rows: readonly ResultRow[];
  readonly cases: readonly string[];
  readonly colour: ReadonlyMap<string, string>;
  readonly parts: string[];
}

export function renderChart(scenario: AnyScenario, rows: ResultRow[]): string {
  const hubs = unique(rows.map((r) => r.hub));
  // Stable sort: Quicksilver moves first, the other hubs keep their first-seen order.
  hubs.sort((a, b) => Number(b === QUICKSILVER) - Number(a === QUICKSILVER));
  const chart: Chart = {
    scenario,
    rows,
    cases: unique(rows.map((r) => r.label)),
    colour: new Map(hubs.map((hub, i) => [hub, PALETTE[i % PALETTE.length]!])),
    parts: [],
  };
  chart.parts.push(
    text(16, 28, scenario.name, 'font-size="18" font-weight="bold"'),
    text(16, 48, truncate(scenario.summary, 120), 'font-size="13" fill="#555"'),
  );
  let y = legend(chart, 64);
  y = headlinePanel(chart, y + 12);
  y = latencyPanel(chart, y + 12);
  const height = Math.ceil(y + 16);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}"`,
    ` font-family="-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12" fill="#222">\n`,
    `<title>${xml(`${scenario.name}: ${scenario.summary}`)}</title>\n`,
    // Invalid runs are hatched: white stripes over the faded bar, whatever the hub's colour.
    '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">',
    '<rect width="3" height="6" fill="#fff" fill-opacity="0.8"/></pattern></defs>\n',
    // An opaque background, or the dark theme of GitHub shows dark text on black.
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>\n`,
    ...chart.parts.map((part) => `${part}\n`),
    "</svg>\n",
  ].join("");
}

/** One swatch per hub, wrapped when they do not fit on a line, and the sign for an invalid run. */
function legend(chart: Chart, top: number): number {
  let x = 16;
  let y = top;
  const items = [...chart.colour].map(([hub, colour]) => ({ hub, colour, invalid: false }));
  items.push({ hub: "invalid run", colour: "#888", invalid: true });
  for (const item of items) {
    const width = 24 + item.hub.length * 7;
    if (x + width > WIDTH - 16) [x, y] = [16, y + 18];
    const swatch = bar(x, y, 12, 12, `fill="${item.colour}"`, item.invalid);
    const kind = item.invalid ? 'class="legend-invalid"' : `class="legend" data-hub="${xml(item.hub)}"`;
    chart.parts.push(`<g ${kind}>${swatch}${text(x + 17, y + 10, item.hub)}</g>`);
    x += width + 12;
  }
  return y + 12;
}

/** The headline figure as horizontal bars on a linear axis from zero, grouped by case. */
function headlinePanel(chart: Chart, top: number): number {
  const { headline } = chart.scenario;
  const values = chart.rows
    .map((r) => headlineOf(chart.scenario, r.result))
    .filter((v) => Number.isFinite(v));
  const ticks = linearTicks(Math.max(0, ...values));
  const end = ticks[ticks.length - 1]!;
  const x = (v: number) => PLOT_START + (Math.max(0, v) / end) * (PLOT_END - PLOT_START);
  const better = headline.higherIsBetter ? "higher" : "lower";
  chart.parts.push(
    heading(top, `${headline.label} (${better} is better; “QS n×”: Quicksilver is n times better)`),
  );
  const gridlines = ticks.map((tick) => ({ x: x(tick), label: formatNumber(tick) }));
  const draw = (row: ResultRow, y: number) => {
    const value = headlineOf(chart.scenario, row.result);
    const width = Number.isFinite(value) ? x(value) - PLOT_START : 0;
    const invalid = row.result.invalid !== undefined;
    const look = `class="bar${invalid ? " invalid" : ""}" ${dataOf(row)} fill="${chart.colour.get(row.hub)}"`;
    const figure = [formatNumber(value), ratioText(chart, row)].filter((s) => s !== "").join(" · ");
    return [bar(PLOT_START, y, width, BAR, look, invalid), text(PLOT_START + width + 6, y + 12, figure)];
  };
  return groups(chart, top + 22, gridlines, (row) => [row], draw);
}

/** p50 to max per case and hub on a log axis, as layered bars: darkest p50, lightest max. */
function latencyPanel(chart: Chart, top: number): number {
  const latency = chart.scenario.latency;
  if (latency === undefined) return top;
  const summaries = new Map<ResultRow, LatencySummary>();
  for (const row of chart.rows) {
    const s = row.result.noFigures ? undefined : latency(row.result);
    // No samples, or none that made a figure: left out rather than drawn as if it were zero.
    if (s !== undefined && s.count > 0 && PERCENTILES.some((p) => Number.isFinite(s[p.key])))
      summaries.set(row, s);
  }
  if (summaries.size === 0) return top;
  const values = [...summaries.values()]
    .flatMap((s) => PERCENTILES.map((p) => s[p.key]))
    .filter((v) => Number.isFinite(v) && v > 0);
  // Whole decades, so the ticks fall on 0.1, 1, 10, ...; at least one decade wide.
  const low = values.length > 0 ? Math.floor(Math.log10(Math.min(...values))) : -1;
  const high = Math.max(low + 1, values.length > 0 ? Math.ceil(Math.log10(Math.max(...values))) : 0);
  const x = (v: number) => {
    const decade = v > 0 ? Math.min(high, Math.max(low, Math.log10(v))) : low;
    return PLOT_START + ((decade - low) / (high - low)) * (PLOT_END - PLOT_START);
  };
  chart.parts.push(heading(top, "latency, ms (log scale)"));
  PERCENTILES.toReversed().forEach((p, i) => {
    chart.parts.push(rect(260 + i * 64, top + 3, 12, 12, `fill="#555" fill-opacity="${p.opacity}"`));
    chart.parts.push(text(276 + i * 64, top + 13, p.label));
  });
  chart.parts.push(text(PLOT_END + 10, top + 13, "p50 / p99 / p99.9 / max", 'fill="#666"'));
  const gridlines = [];
  for (let decade = low; decade <= high; decade++)
    gridlines.push({ x: x(10 ** decade), label: formatNumber(10 ** decade) });
  const rowsOf = (row: ResultRow) => (summaries.has(row) ? [row] : []);
  return groups(chart, top + 22, gridlines, rowsOf, (row, y) => {
    const s = summaries.get(row)!;
    const invalid = row.result.invalid !== undefined;
    const fill = `fill="${chart.colour.get(row.hub)!}"`;
    const shown = PERCENTILES.filter((p) => Number.isFinite(s[p.key]));
    const layers = shown.map((p) => {
      const opacity = invalid ? p.opacity * 0.4 : p.opacity;
      return rect(PLOT_START, y, x(s[p.key]) - PLOT_START, BAR, `${fill} fill-opacity="${opacity}"`);
    });
    if (invalid)
      layers.push(rect(PLOT_START, y, x(s[shown[0]!.key]) - PLOT_START, BAR, 'fill="url(#hatch)"'));
    const figures = PERCENTILES.toReversed().map((p) => formatNumber(s[p.key]));
    return [
      `<g class="latency" ${dataOf(row)}>${layers.join("")}</g>`,
      text(PLOT_END + 10, y + 12, `${figures.join(" / ")} ms`, 'font-size="11"'),
    ];
  });
}

/**
 * The rows of each case under its label, one line each (`pick` turns a row into zero or one line),
 * and an invalid row's reason under it; the gridlines go first so the bars are drawn over them.
 */
function groups(
  chart: Chart,
  top: number,
  gridlines: readonly { x: number; label: string }[],
  pick: (row: ResultRow) => ResultRow[],
  draw: (row: ResultRow, y: number) => string[],
): number {
  const body: string[] = [];
  let y = top;
  for (const label of chart.cases) {
    const rows = chart.rows.filter((r) => r.label === label).flatMap(pick);
    if (rows.length === 0) continue;
    // The hubs in legend order, so every group reads the same way.
    const order = [...chart.colour.keys()];
    rows.sort((a, b) => order.indexOf(a.hub) - order.indexOf(b.hub));
    body.push(text(16, y + 12, label, 'font-weight="bold"'));
    y += 18;
    for (const row of rows) {
      body.push(text(PLOT_START - 8, y + 12, row.hub, 'text-anchor="end"'), ...draw(row, y));
      y += BAR + GAP;
      if (row.result.invalid === undefined) continue;
      const note = `invalid: ${truncate(row.result.invalid, 100)}`;
      body.push(
        text(PLOT_START, y + 9, note, 'class="invalid-note" font-size="11" font-style="italic" fill="#b00"'),
      );
      y += 14;
    }
    y += 6;
  }
  for (const line of gridlines) {
    chart.parts.push(
      `<line x1="${line.x}" y1="${top}" x2="${line.x}" y2="${y}" stroke="#ddd"/>`,
      text(line.x, y + 14, line.label, 'class="tick" text-anchor="middle" fill="#666"'),
    );
  }
  chart.parts.push(...body);
  return y + 18;
}

/** How many times better Quicksilver is than this hub in this case, as the table computes it. */
function ratioText(chart: Chart, row: ResultRow): string {
  if (row.hub === QUICKSILVER) return "";
  const reference = chart.rows.find((r) => r.hub === QUICKSILVER && r.label === row.label);
  if (reference === undefined) return "";
  const { headline } = chart.scenario;
  const mine = headlineOf(chart.scenario, row.result);
  const theirs = headlineOf(chart.scenario, reference.result);
  const ratio = headline.higherIsBetter ? theirs / mine : mine / theirs;
  return Number.isFinite(ratio) ? `QS ${ratio.toFixed(2)}×` : "";
}

/** A bar in a hub's colour; an invalid one faded and hatched, so it never passes for a valid one. */
function bar(x: number, y: number, width: number, height: number, look: string, invalid: boolean): string {
  const solid = rect(x, y, width, height, `${look} fill-opacity="${invalid ? 0.35 : 1}"`);
  return invalid ? solid + rect(x, y, width, height, 'fill="url(#hatch)"') : solid;
}

function rect(x: number, y: number, width: number, height: number, attributes: string): string {
  return `<rect x="${x}" y="${y}" width="${width}" height="${height}" ${attributes}/>`;
}

function dataOf(row: ResultRow): string {
  return `data-hub="${xml(row.hub)}" data-case="${xml(row.label)}"`;
}

function heading(y: number, content: string): string {
  return text(16, y + 12, content, 'font-size="14" font-weight="bold"');
}

function text(x: number, y: number, content: string, attributes = ""): string {
  return `<text x="${x}" y="${y}"${attributes === "" ? "" : ` ${attributes}`}>${xml(content)}</text>`;
}

/** Ticks on 1, 2, 2.5 or 5 times a power of ten, about four of them, the last at or above `max`. */
function linearTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const magnitude = 10 ** Math.floor(Math.log10(max / 4));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= max / 4)!;
  const ticks = [0];
  // toPrecision drops the float noise of repeated steps (0.30000000000000004).
  while (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

/** Large figures with thousands separators, small ones to three significant digits; no locale. */
function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (Math.abs(value) < 100) return String(Number(value.toPrecision(3)));
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function truncate(value: string, length: number): string {
  return value.length <= length ? value : `${value.slice(0, length - 1)}…`;
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

function xml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
