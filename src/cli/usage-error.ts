import { QuicksilverError } from "../protocol/quicksilver-error.ts";

/** The one stable code of `UsageError`: the message says which option is wrong and how. */
export const USAGE_ERROR_CODES = ["usage_invalid"] as const;

export type UsageErrorCode = (typeof USAGE_ERROR_CODES)[number];

/** A configuration mistake; the message says what to fix. The CLI exits with status 2. */
export class UsageError extends QuicksilverError {
  override name = "UsageError";
  readonly code: UsageErrorCode = "usage_invalid";
}
