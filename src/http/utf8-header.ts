/**
 * Text beyond ASCII in header values, written and read as UTF-8 bytes.
 *
 * HTTP carries header values as bytes. A browser's EventSource sends `Last-Event-ID` as the UTF-8
 * bytes of the last event id (HTML, "EventSource"), and a fetch client hands a response header
 * over as a ByteString, one character per byte, that it decodes as UTF-8. node:http does the
 * same with requests (one character per byte, "latin1"), and writes each character of a header
 * value as one byte. So the hub reads such values by taking the bytes back and decoding them as
 * UTF-8, and writes them as the UTF-8 bytes turned into one character each: an id sent back
 * exactly as it was received is the same id, whatever its characters.
 */

import { STRICT_UTF8 } from "../protocol/utf8.ts";

/**
 * The bytes a header field value may hold (RFC 9110 section 5.5: visible characters, space, tab
 * and obs-text), with no whitespace at either end, which a recipient strips (section 5.5 too):
 * a value with some would not come back as it was sent. node:http checks the same bytes, and
 * throws at the first one outside.
 */
const FIELD_VALUE = /^(?:[\x21-\x7E\x80-\xFF](?:[\t\x20-\x7E\x80-\xFF]*[\x21-\x7E\x80-\xFF])?)?$/;

/**
 * A request header's value (node:http's one character per byte) decoded as UTF-8; undefined when
 * its bytes are not UTF-8.
 */
export function decodeUtf8Header(value: string): string | undefined {
  try {
    return STRICT_UTF8.decode(Buffer.from(value, "latin1"));
  } catch {
    return undefined;
  }
}

/**
 * `value` as its UTF-8 bytes, one character per byte, for node:http (or a response head written
 * as latin1) to put on the wire; undefined when it cannot be a header value that reads back the
 * same (a control character, a line break, whitespace at an end, a lone surrogate). The caller
 * decides what to send instead: throwing here would turn a bad value into a 500, or into a
 * response cut after its first bytes.
 */
export function encodeUtf8Header(value: string): string | undefined {
  if (!value.isWellFormed()) return undefined;
  const bytes = Buffer.from(value, "utf8").toString("latin1");
  return FIELD_VALUE.test(bytes) ? bytes : undefined;
}
