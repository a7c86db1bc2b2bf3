import type { AnyScenario, ResultRow } from "./scenario.ts";

/** Placeholder: replaced by the real chart renderer. */
export function renderChart(scenario: AnyScenario, rows: ResultRow[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg"><title>${scenario.name} ${rows.length}</title></svg>\n`;
}
