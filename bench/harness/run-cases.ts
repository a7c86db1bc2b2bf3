/**
 * Runs every case of a scenario against every hub of a run, a fresh hub per case. A hub that
 * fails a case outright (it would not start, refused its subscribers, stalled) is a result too:
 * its row says why, and the other hubs and cases go on. Only a missing program
 * (MissingCommandError) ends the run, since every case of that hub would fail the same way.
 */
import { MissingCommandError } from "./required-command.ts";
import { createRig, pinHub } from "./rig.ts";
import { type AnyScenario, type CaseParameters, failedResult, type ResultRow } from "./scenario.ts";
import { type Adapter, hubPids } from "./target.ts";

export interface RunCasesOptions {
  readonly quick: boolean;
  /** What the command line set for the cases (`--subscribers`, `--workers`). */
  readonly parameters?: CaseParameters;
  /** Pin the hub to its core and the clients to theirs (run.ts); tests run unpinned. */
  readonly pinned: boolean;
  /** Where each row is reported as it is measured. */
  readonly log?: (line: string) => void;
}

/**
 * Checks every hub's programs first (throws MissingCommandError), then runs the cases; `hubs`
 * maps each hub's name in the results to its adapter, in the order the hubs are run.
 */
export async function runCases(
  scenario: AnyScenario,
  hubs: Readonly<Record<string, Adapter>>,
  options: RunCasesOptions,
): Promise<ResultRow[]> {
  for (const adapter of Object.values(hubs)) adapter.check?.();
  const log = options.log ?? (() => {});
  const rows: ResultRow[] = [];
  for (const c of scenario.cases(options.quick, options.parameters)) {
    const label = scenario.label(c);
    for (const [hub, adapter] of Object.entries(hubs)) {
      const rig = createRig(options.pinned);
      let target: Awaited<ReturnType<Adapter["start"]>> | undefined;
      try {
        target = await adapter.start(scenario.hubOptions?.(c));
        if (options.pinned) for (const pid of hubPids(target)) pinHub(pid);
        const result = await scenario.run(target, c, rig);
        rows.push({ hub, label, result });
        log(`${label}, ${hub}: ${JSON.stringify(result)}`);
      } catch (error) {
        if (error instanceof MissingCommandError) throw error;
        const result = failedResult(c, error);
        rows.push({ hub, label, result });
        log(`${label}, ${hub}: ${result.invalid}`);
      } finally {
        await rig.close();
        await target?.stop();
      }
    }
  }
  return rows;
}
