/**
 * A streaming Server-Sent Events parser for the client side.
 *
 * Implements the WHATWG HTML "event stream interpretation" (section 9.2.6): the byte stream is
 * decoded as UTF-8 in streaming mode (one leading BOM skipped, invalid bytes become U+FFFD),
 * cut into lines at CRLF, LF or CR, and each line is a field, a comment or, when empty, the
 * signal to dispatch the event being built. Chunks may be split anywhere: inside a UTF-8
 * sequence, inside a line, or between the CR and the LF of one CRLF.
 *
 * Pure: no `node:*` import, shared with the browser SDK.
 */

export interface SseEvent {
  /** The `event` field, or `message` when none (or an empty one) was given. */
  type: string;
  /** The `data` lines joined with LF. */
  data: string;
  /** The last event ID at dispatch time; it persists across events until an `id` field changes it. */
  id: string;
  /** Present when the event's block held a valid `retry` field (also reported through `onRetry`). */
  retry?: number;
  /**
   * Present when the event's block held fields the standard does not define (which an
   * `EventSource` ignores), such as the `matchers` field of a hub's extension: the value of each
   * one's last occurrence, by name.
   */
  fields?: Record<string, string>;
}

export interface SseHandlers {
  /** Called at each blank line that ends a block holding at least one `data` field. */
  onEvent(event: SseEvent): void;
  /** Called for each line starting with `:`, with the text after the colon (leading space kept). */
  onComment?(text: string): void;
  /** Called for each valid `retry` field (ASCII digits only), as soon as its line ends. */
  onRetry?(ms: number): void;
}

const LF = 0x0a;
const SPACE = 0x20;
const BOM = 0xfeff;
const STREAM = { stream: true } as const;

export class SseParser {
  readonly #handlers: SseHandlers;
  // ignoreBOM: the BOM is stripped here instead, so that string chunks are treated the same way.
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  /** True when the decoder may hold the start of a multi-byte sequence. */
  #decoderPending = false;
  #bomChecked = false;
  /** The previous chunk ended with a CR: an LF starting the next one belongs to the same break. */
  #skipLF = false;
  /** The start of a line whose end has not arrived yet. */
  #partial = "";

  #data = "";
  #hasData = false;
  #type = "";
  #retry: number | undefined = undefined;
  #fields: Record<string, string> | undefined = undefined;
  #idBuffer = "";
  #lastEventId = "";

  constructor(handlers: SseHandlers) {
    this.#handlers = handlers;
  }

  /** The last event ID string: set at each dispatch from the last `id` field seen. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** Feeds the next piece of the stream, as bytes or as already decoded text. */
  push(chunk: Uint8Array | string): void {
    if (typeof chunk === "string") {
      if (this.#decoderPending) {
        // An incomplete UTF-8 sequence followed by text: it is invalid, flush it as U+FFFD.
        this.#decoderPending = false;
        this.#feed(this.#decoder.decode());
      }
      this.#feed(chunk);
    } else {
      this.#decoderPending = true;
      this.#feed(this.#decoder.decode(chunk, STREAM));
    }
  }

  /**
   * Ends the stream: an incomplete line and an event not followed by a blank line are discarded.
   * The parser may then be fed the next connection's stream; the last event ID is kept.
   */
  end(): void {
    if (this.#decoderPending) {
      this.#decoderPending = false;
      this.#decoder.decode();
    }
    this.#bomChecked = false;
    this.#skipLF = false;
    this.#partial = "";
    this.#data = "";
    this.#hasData = false;
    this.#type = "";
    this.#retry = undefined;
    this.#fields = undefined;
    this.#idBuffer = this.#lastEventId;
  }

  #feed(text: string): void {
    const length = text.length;
    if (length === 0) return;
    let pos = 0;
    if (!this.#bomChecked) {
      this.#bomChecked = true;
      if (text.charCodeAt(0) === BOM) pos = 1;
    }
    if (this.#skipLF) {
      this.#skipLF = false;
      if (pos < length && text.charCodeAt(pos) === LF) pos++;
    }
    // The next CR and LF positions, searched natively and only again once passed.
    let cr = text.indexOf("\r", pos);
    let lf = text.indexOf("\n", pos);
    while (cr !== -1 || lf !== -1) {
      let eol: number;
      let next: number;
      if (lf === -1 || (cr !== -1 && cr < lf)) {
        eol = cr;
        next = cr + 1;
        if (next === length) this.#skipLF = true;
        else if (next === lf) next++;
      } else {
        eol = lf;
        next = lf + 1;
      }
      let line = text.slice(pos, eol);
      if (this.#partial.length !== 0) {
        line = this.#partial + line;
        this.#partial = "";
      }
      pos = next;
      if (cr !== -1 && cr < pos) cr = text.indexOf("\r", pos);
      if (lf !== -1 && lf < pos) lf = text.indexOf("\n", pos);
      this.#line(line);
    }
    if (pos < length) this.#partial += pos === 0 ? text : text.slice(pos);
  }

  #line(line: string): void {
    if (line.length === 0) {
      this.#dispatch();
      return;
    }
    const colon = line.indexOf(":");
    if (colon === 0) {
      this.#handlers.onComment?.(line.slice(1));
      return;
    }
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = "";
    } else {
      field = line.slice(0, colon);
      const start = line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1;
      value = line.slice(start);
    }
    switch (field) {
      case "event":
        this.#type = value;
        break;
      case "data":
        if (this.#hasData) {
          this.#data = this.#data + "\n" + value;
        } else {
          this.#data = value;
          this.#hasData = true;
        }
        break;
      case "id":
        if (value.indexOf("\0") === -1) this.#idBuffer = value;
        break;
      case "retry":
        if (isAsciiDigits(value)) {
          const ms = Number(value);
          this.#retry = ms;
          this.#handlers.onRetry?.(ms);
        }
        break;
      default:
        // Kept for the event, not acted on. A null-prototype record: a field named __proto__ is data.
        this.#fields ??= Object.create(null) as Record<string, string>;
        this.#fields[field] = value;
    }
  }

  #dispatch(): void {
    this.#lastEventId = this.#idBuffer;
    const retry = this.#retry;
    const fields = this.#fields;
    this.#retry = undefined;
    this.#fields = undefined;
    if (!this.#hasData) {
      this.#type = "";
      return;
    }
    const event: SseEvent = {
      type: this.#type === "" ? "message" : this.#type,
      data: this.#data,
      id: this.#lastEventId,
    };
    if (retry !== undefined) event.retry = retry;
    if (fields !== undefined) event.fields = fields;
    this.#data = "";
    this.#hasData = false;
    this.#type = "";
    this.#handlers.onEvent(event);
  }
}

/** True for a non-empty string of ASCII digits only. */
function isAsciiDigits(value: string): boolean {
  const length = value.length;
  if (length === 0) return false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
