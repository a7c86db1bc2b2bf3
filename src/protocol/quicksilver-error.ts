/**
 * The base of every error the library throws on purpose. `code` is stable and documented in
 * docs/errors.md (a test keeps the two in step): branch on it, never on the message, which may
 * change. An error that is not a QuicksilverError is a defect.
 */
export abstract class QuicksilverError extends Error {
  abstract readonly code: string;
}
