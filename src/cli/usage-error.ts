/** The command line's configuration mistakes are the library's: one class, one code. */
export { UsageError } from "../server/usage-error.ts";
