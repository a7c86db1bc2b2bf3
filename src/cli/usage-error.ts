/** A configuration mistake; the message says what to fix. The CLI exits with status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}
