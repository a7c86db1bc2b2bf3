/**
 * An incremental `application/x-www-form-urlencoded` parser, for the publish path of the hub.
 *
 * The result is the WHATWG URL standard's urlencoded parser (what `URLSearchParams` gives):
 * the body is split on `&`, empty sequences are skipped, each sequence is split into name and
 * value on its first `=`, `+` becomes a space, `%XX` escapes are decoded (an invalid `%` stays
 * literal) and the bytes are decoded as UTF-8. One deliberate difference: bytes that are not
 * valid UTF-8 are refused with `form_invalid_utf8` instead of becoming U+FFFD.
 *
 * The body is parsed as bytes while it arrives, so an escape or a UTF-8 sequence may be split
 * across chunks, and limits are checked on the encoded bytes as they arrive: an oversized field
 * or one field too many is refused by the `push` that brings it, without buffering it whole.
 *
 * Pure: no `node:*` import, shared with the browser SDK.
 */

import { STRICT_UTF8 } from "./utf8.ts";

export type FormErrorCode = "form_field_too_long" | "form_too_many_fields" | "form_invalid_utf8";

/**
 * A body the parser refuses. Internal: the http layer turns it into the `ProtocolError` of the
 * same code, so it never reaches a caller.
 */
export class FormError extends Error {
  readonly code: FormErrorCode;
  /**
   * The decoded name of the field at fault, when known: set for a value that is too long or not
   * UTF-8; undefined for a name that is too long or not UTF-8, and for one field too many.
   */
  readonly field: string | undefined;
  constructor(code: FormErrorCode, field: string | undefined, message: string) {
    super(message);
    this.name = "FormError";
    this.code = code;
    this.field = field;
  }
}

export interface FormLimits {
  /** The most encoded bytes a field name or value may have (escapes count as their three bytes). */
  maxFieldBytes: number;
  /** Names (decoded) whose values are not bounded by `maxFieldBytes` (e.g. `data`, bounded by the body limit). */
  unboundedFields?: ReadonlySet<string>;
  /** The most name/value pairs (empty sequences such as `&&` do not count). */
  maxFields: number;
}

const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const PERCENT = 0x25;
const PLUS = 0x2b;

/** Byte classes: 0 is an ordinary byte. */
const ESCAPE = 1; // `%` or `+`: the token needs decoding
const NAME_END = 2; // `=`: ends a name, ordinary in a value
const SEQUENCE_END = 3; // `&`
const CLASS = new Uint8Array(256);
CLASS[PERCENT] = ESCAPE;
CLASS[PLUS] = ESCAPE;
CLASS[EQUALS] = NAME_END;
CLASS[AMPERSAND] = SEQUENCE_END;

/** Hexadecimal digit values, 255 for a byte that is not a digit. */
const HEX = new Uint8Array(256).fill(255);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

const EMPTY_SET: ReadonlySet<string> = new Set();
const NO_BYTES = new Uint8Array(0);
/**
 * Shared output for decoding a token that lies within one chunk (decoding is synchronous, so one
 * buffer serves every parser). It grows to `SCRATCH_MAX` at most; larger tokens get their own.
 */
const SCRATCH_MAX = 64 * 1024;
let scratch = new Uint8Array(1024);

export class FormParser {
  readonly #maxFieldBytes: number;
  readonly #maxFields: number;
  readonly #unbounded: ReadonlySet<string>;
  readonly #pairs: Array<[name: string, value: string]> = [];

  /** Inside a non-empty sequence (a pair has begun). */
  #inPair = false;
  /** Reading the value (the name and its `=` are behind). */
  #inValue = false;
  /** The decoded name, once `=` has been read. */
  #name = "";
  /** The value being read may not exceed `maxFieldBytes`. */
  #valueBounded = true;
  /** Encoded bytes of the current token (name or value) so far. */
  #tokenBytes = 0;
  /** The current token holds a `%` or a `+`. */
  #escaped = false;
  /** The encoded bytes of the current token that came in earlier chunks; allocated when first needed. */
  #buffer = NO_BYTES;
  #buffered = 0;

  #failure: FormError | undefined = undefined;
  #ended = false;

  constructor(limits: FormLimits) {
    this.#maxFieldBytes = limits.maxFieldBytes;
    this.#maxFields = limits.maxFields;
    this.#unbounded = limits.unboundedFields ?? EMPTY_SET;
  }

  /** Parses the next chunk of the body; throws a `FormError` as soon as a limit is crossed. */
  push(chunk: Uint8Array): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#ended) throw new Error("FormParser: push after end");
    try {
      this.#push(chunk);
    } catch (error) {
      if (error instanceof FormError) this.#failure = error;
      throw error;
    }
  }

  /** Ends the body and returns the pairs in order; throws a `FormError` for a last field that is invalid. */
  end(): Array<[name: string, value: string]> {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#ended) throw new Error("FormParser: end called twice");
    this.#ended = true;
    if (this.#inPair) {
      try {
        this.#endToken(this.#buffer, 0, this.#buffered, SEQUENCE_END);
      } catch (error) {
        if (error instanceof FormError) this.#failure = error;
        throw error;
      }
    }
    return this.#pairs;
  }

  #push(chunk: Uint8Array): void {
    const length = chunk.length;
    let i = 0;
    while (i < length) {
      if (!this.#inPair) {
        if (chunk[i] === AMPERSAND) {
          i++;
          continue;
        }
        if (this.#pairs.length >= this.#maxFields) {
          throw new FormError(
            "form_too_many_fields",
            undefined,
            `the form has more than ${this.#maxFields} fields`,
          );
        }
        this.#inPair = true;
        this.#inValue = false;
      }
      // Scan the token up to its delimiter, noting whether it needs decoding.
      const inValue = this.#inValue;
      let escaped = false;
      let j = i;
      let delimiter = 0;
      while (j < length) {
        const kind = CLASS[chunk[j]!]!;
        if (kind !== 0) {
          if (kind === ESCAPE) escaped = true;
          else if (kind === SEQUENCE_END || !inValue) {
            delimiter = kind;
            break;
          }
        }
        j++;
      }
      if (escaped) this.#escaped = true;
      const tokenBytes = this.#tokenBytes + (j - i);
      if (tokenBytes > this.#maxFieldBytes && (!inValue || this.#valueBounded)) this.#tooLong(inValue);
      if (delimiter === 0) {
        // The token goes on in the next chunk.
        this.#append(chunk, i, j);
        this.#tokenBytes = tokenBytes;
        return;
      }
      if (this.#buffered === 0) {
        this.#endToken(chunk, i, j, delimiter);
      } else {
        this.#append(chunk, i, j);
        this.#endToken(this.#buffer, 0, this.#buffered, delimiter);
      }
      i = j + 1;
    }
  }

  /** Completes the token held in `source[start, end)`, ended by `delimiter` (`=` or `&`, or the end of the body). */
  #endToken(source: Uint8Array, start: number, end: number, delimiter: number): void {
    const inValue = this.#inValue;
    const text = this.#decode(source, start, end, inValue);
    this.#tokenBytes = 0;
    this.#buffered = 0;
    this.#escaped = false;
    if (!inValue && delimiter === NAME_END) {
      this.#name = text;
      this.#inValue = true;
      this.#valueBounded = !this.#unbounded.has(text);
      return;
    }
    this.#pairs.push(inValue ? [this.#name, text] : [text, ""]);
    this.#inPair = false;
    this.#inValue = false;
    this.#name = "";
  }

  #decode(source: Uint8Array, start: number, end: number, inValue: boolean): string {
    if (start === end) return "";
    let bytes: Uint8Array;
    if (this.#escaped) {
      // Decoded bytes are never more than encoded ones, so a buffered token is decoded in place.
      const size = end - start;
      let target: Uint8Array;
      if (source === this.#buffer) target = source;
      else if (size <= scratch.length) target = scratch;
      else if (size <= SCRATCH_MAX) target = scratch = new Uint8Array(Math.max(size, scratch.length * 2));
      else target = new Uint8Array(size);
      bytes = target.subarray(0, percentDecode(source, start, end, target));
    } else {
      bytes = source.subarray(start, end);
    }
    try {
      return STRICT_UTF8.decode(bytes);
    } catch {
      const field = inValue ? this.#name : undefined;
      throw new FormError(
        "form_invalid_utf8",
        field,
        field === undefined
          ? "a form field name is not valid UTF-8"
          : `the form field "${field}" is not valid UTF-8`,
      );
    }
  }

  #tooLong(inValue: boolean): never {
    const limit = this.#maxFieldBytes;
    if (inValue) {
      throw new FormError(
        "form_field_too_long",
        this.#name,
        `the value of the form field "${this.#name}" is longer than ${limit} bytes`,
      );
    }
    throw new FormError("form_field_too_long", undefined, `a form field name is longer than ${limit} bytes`);
  }

  /** Appends `source[start, end)` to the buffered part of the token. */
  #append(source: Uint8Array, start: number, end: number): void {
    if (start === end) return;
    const buffered = this.#buffered;
    const needed = buffered + (end - start);
    const buffer = needed > this.#buffer.length ? this.#reserve(needed) : this.#buffer;
    buffer.set(source.subarray(start, end), buffered);
    this.#buffered = needed;
  }

  /** Returns the buffer, grown (keeping its buffered bytes) to hold at least `size` bytes. */
  #reserve(size: number): Uint8Array {
    const buffer = this.#buffer;
    if (size <= buffer.length) return buffer;
    let capacity = Math.max(64, buffer.length * 2);
    while (capacity < size) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(buffer.subarray(0, this.#buffered));
    this.#buffer = grown;
    return grown;
  }
}

/**
 * Writes the decoding of `source[start, end)` to `target` from index 0 (`+` → space, valid `%XX`
 * → its byte, anything else as is) and returns its length. `target` may be `source` when `start`
 * is 0: the write index never passes the read index.
 */
function percentDecode(source: Uint8Array, start: number, end: number, target: Uint8Array): number {
  let w = 0;
  for (let r = start; r < end; r++) {
    const byte = source[r]!;
    if (byte === PLUS) {
      target[w++] = 0x20;
    } else if (byte === PERCENT && r + 2 < end) {
      const high = HEX[source[r + 1]!]!;
      const low = HEX[source[r + 2]!]!;
      if (high !== 255 && low !== 255) {
        target[w++] = (high << 4) | low;
        r += 2;
      } else {
        target[w++] = byte;
      }
    } else {
      target[w++] = byte;
    }
  }
  return w;
}
