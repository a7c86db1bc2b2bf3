/**
 * UTF-8 that must be valid: `fatal` throws on bytes that are not UTF-8 instead of writing U+FFFD,
 * and `ignoreBOM` keeps a leading U+FEFF as the text it is (in an id or a form field it is data,
 * not a byte order mark). Shared by every caller: a decode that is not streaming keeps no state
 * between calls.
 */
export const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
