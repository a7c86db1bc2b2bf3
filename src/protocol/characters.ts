/**
 * Character rules shared by topics, matchers, ids and event types.
 *
 * C0/C1 controls, DEL and Unicode format characters (category Cf, such as U+200B or the
 * bidirectional overrides) are refused: CR, LF and NUL would inject SSE fields into the stream
 * (draft, "Server-Sent Events Field Injection"), and invisible format characters make two
 * topics that look identical differ byte for byte (homograph confusion).
 */
const FORBIDDEN = /[\u0000-\u001F\u007F-\u009F\p{Cf}]/u;

/** True when the value holds a control or format character that the protocol forbids. */
export function hasForbiddenCharacter(value: string): boolean {
  return FORBIDDEN.test(value);
}

/** True when the string is well-formed UTF-16 (no lone surrogate), so it encodes to valid UTF-8. */
export function isWellFormed(value: string): boolean {
  return value.isWellFormed();
}
