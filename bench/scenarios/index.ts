/** The scenarios `npm run bench -- <scenario>` knows, by name. */
import type { AnyScenario } from "../harness/scenario.ts";
import { capacity } from "./capacity.ts";
import { churn } from "./churn.ts";
import { cluster } from "./cluster.ts";
import { fanout } from "./fanout.ts";
import { h2fanout } from "./h2fanout.ts";
import { idle } from "./idle.ts";
import { latency } from "./latency.ts";
import { publish } from "./publish.ts";
import { routing } from "./routing.ts";

export const SCENARIOS: Record<string, AnyScenario> = {
  fanout,
  h2fanout,
  publish,
  churn,
  latency,
  idle,
  routing,
  capacity,
  cluster,
};
