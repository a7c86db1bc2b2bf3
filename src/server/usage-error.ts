import { QuicksilverError } from "../protocol/quicksilver-error.ts";

/**
 * Options that cannot be used: a value out of its range, or two values that contradict each other.
 * The message names the option as it was given (`--heartbeat` on the command line,
 * `streams.heartbeatMs` in `createHubServer`) and says what to fix; the CLI exits with status 2.
 */
export class UsageError extends QuicksilverError {
  readonly code = "invalid_option";
  override name = "UsageError";
}
