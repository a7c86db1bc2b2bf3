import { QuicksilverError } from "../protocol/quicksilver-error.ts";

/** The one stable code of `UsageError`: the message says which option is wrong and how. */
export const USAGE_ERROR_CODES = ["usage_invalid"] as const;

export type UsageErrorCode = (typeof USAGE_ERROR_CODES)[number];

/**
 * Options that cannot be used: a value out of its range, or two values that contradict each other.
 * The message names the option as it was given (`--heartbeat` on the command line,
 * `streams.heartbeatMs` in `createHubServer`) and says what to fix; the CLI exits with status 2.
 */
export class UsageError extends QuicksilverError {
  override name = "UsageError";
  readonly code: UsageErrorCode = "usage_invalid";
}
