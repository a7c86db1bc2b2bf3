/**
 * What a benchmark scenario is to the harness: the cases it runs (a quick form and a full one),
 * how to run one case against a hub, and how its result reads in the table and the chart.
 */
import type { GeneratorPool, SubscriberProtocol } from "./generator-pool.ts";
import type { LatencySummary } from "./stats.ts";
import type { HubStartOptions, Target } from "./target.ts";

/** Every result names its case and says why it cannot be trusted, when it cannot. */
export interface ScenarioResult<C> {
  readonly case: C;
  /** Set when the run measured its clients or lost events: such a figure is not reported as valid. */
  readonly invalid?: string;
  /** Set when the hub failed the case outright: there are no figures, only `invalid`'s reason. */
  readonly noFigures?: true;
}

/** One hub's result for one case, as the table, the chart and the JSON hold it. */
export interface ResultRow {
  readonly hub: string;
  /** The case's label (Scenario.label). */
  readonly label: string;
  readonly result: ScenarioResult<unknown>;
}

/** What a scenario gets from the harness besides the hub: load generators on the client cores. */
export interface Rig {
  /**
   * Forks `generators` load generators, pinned away from the hub, sharing the first
   * `sourceAddresses` loopback source addresses (all of them by default), their subscribers
   * speaking `protocol` (HTTP/1.1 by default); closed after the case.
   */
  startPool(generators: number, sourceAddresses?: number, protocol?: SubscriberProtocol): GeneratorPool;
  /** Places a client process the scenario forked itself (pins it away from the hub, when pinned). */
  placeClient(pid: number): void;
}

/** Settings of a scenario's cases given on the command line; a scenario ignores what it does not use. */
export interface CaseParameters {
  readonly subscribers?: number;
  /** Hub worker processes behind one port; 0: one process, without `--workers`. */
  readonly workers?: number | "auto";
}

export interface Column<R> {
  readonly header: string;
  value(result: R): string | number;
}

export interface Scenario<C, R extends ScenarioResult<C>> {
  readonly name: string;
  /** One line for the usage text and the chart's title. */
  readonly summary: string;
  /** The cases to run; `parameters` are what the command line set (`--subscribers`, `--workers`). */
  cases(quick: boolean, parameters?: CaseParameters): C[];
  /**
   * The only hubs that can run this scenario, when not all can, and why the others cannot (the
   * run leaves them out by default, and refuses them when asked for by name).
   */
  readonly hubs?: { readonly names: readonly string[]; readonly reason: string };
  /** The case in a few words, for the table and the chart ("10,000 subscribers, 32 B"). */
  label(c: C): string;
  /** How the hub must be started for this case (durable history, heartbeat). */
  hubOptions?(c: C): HubStartOptions;
  run(target: Target, c: C, rig: Rig): Promise<R>;
  /** The figure hubs are compared on, as a ratio to Quicksilver's. */
  readonly headline: {
    readonly label: string;
    value(result: R): number;
    readonly higherIsBetter: boolean;
  };
  /** The other columns of the table. */
  readonly columns: readonly Column<R>[];
  /** The latency percentiles to chart, when the scenario measures latency. */
  latency?(result: R): LatencySummary | undefined;
}

/** A scenario whose case and result types are no longer needed (the registry, the runner). */
// biome-ignore lint/suspicious/noExplicitAny: the runner only passes a scenario's own cases back to it
export type AnyScenario = Scenario<any, ScenarioResult<any>>;

/** The result of a case a hub failed outright (it refused or stalled): no figures, only why. */
export function failedResult<C>(c: C, error: unknown): ScenarioResult<C> {
  return { case: c, invalid: `failed: ${(error as Error).message}`, noFigures: true };
}

/** The headline figure of a result, NaN for a failed case. */
export function headlineOf(scenario: AnyScenario, result: ScenarioResult<unknown>): number {
  return result.noFigures ? Number.NaN : scenario.headline.value(result);
}
