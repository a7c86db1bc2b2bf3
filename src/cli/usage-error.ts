/** The command line's configuration mistakes are the library's: one class, one code. */
export { USAGE_ERROR_CODES, UsageError, type UsageErrorCode } from "../server/usage-error.ts";
