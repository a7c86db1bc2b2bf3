/** The scenarios `npm run bench -- <scenario>` knows, by name. */
import type { AnyScenario } from "../harness/scenario.ts";
import { fanout } from "./fanout.ts";

export const SCENARIOS: Record<string, AnyScenario> = {
  fanout,
};
