/**
 * A minimal HTTP/1.1 response reader for the raw-socket publish clients: finds where each
 * response ends (Content-Length, chunked, or the connection's end) and reports its status and
 * whether the server will close the connection. Headers other than the framing ones and bodies
 * are skipped, never kept. Bytes may arrive cut anywhere, and several responses in one chunk.
 */

export interface ParsedResponse {
  readonly status: number;
  /** The server closes the connection after this response (`Connection: close`, HTTP/1.0). */
  readonly close: boolean;
}

export class ResponseParseError extends Error {}

/** A head longer than this is not a publish answer: refuse it rather than buffer on. */
const MAX_HEAD_BYTES = 64 * 1024;

type State = "head" | "body" | "chunk-size" | "chunk-data" | "chunk-end" | "trailers" | "until-close";

export class ResponseParser {
  readonly #onResponse: (response: ParsedResponse) => void;
  #state: State = "head";
  /** The unread start of a line (a head, a chunk size) cut by the end of the previous chunk. */
  #pending: Buffer | undefined;
  /** Body bytes (or chunk bytes) still to skip. */
  #remaining = 0;
  #status = 0;
  #close = false;

  constructor(onResponse: (response: ParsedResponse) => void) {
    this.#onResponse = onResponse;
  }

  /** True between responses, with nothing of the next one read yet. */
  get idle(): boolean {
    return this.#state === "head" && this.#pending === undefined;
  }

  /** Reads `chunk`, calling onResponse for every response it completes; throws on a malformed one. */
  push(chunk: Buffer): void {
    const data = this.#pending === undefined ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = undefined;
    let at = 0;
    while (at < data.length) {
      switch (this.#state) {
        case "head": {
          const end = data.indexOf("\r\n\r\n", at, "latin1");
          if (end === -1) {
            this.#keep(data, at);
            return;
          }
          if (end - at > MAX_HEAD_BYTES) throw new ResponseParseError("response head too long");
          this.#head(data.toString("latin1", at, end));
          at = end + 4;
          break;
        }
        case "body":
        case "chunk-data": {
          const take = Math.min(this.#remaining, data.length - at);
          at += take;
          this.#remaining -= take;
          if (this.#remaining > 0) break;
          if (this.#state === "body") this.#complete();
          else this.#state = "chunk-end";
          break;
        }
        case "chunk-size":
        case "chunk-end":
        case "trailers": {
          const end = data.indexOf("\r\n", at, "latin1");
          if (end === -1) {
            this.#keep(data, at);
            return;
          }
          this.#line(data.toString("latin1", at, end));
          at = end + 2;
          break;
        }
        case "until-close":
          at = data.length;
          break;
      }
    }
  }

  /**
   * The connection ended: completes a response whose body runs to the close. Returns false when
   * a response was cut short (the caller counts its request as failed).
   */
  end(): boolean {
    if (this.#state === "until-close") {
      this.#complete();
      return true;
    }
    return this.idle;
  }

  #keep(data: Buffer, at: number): void {
    if (data.length - at > MAX_HEAD_BYTES) throw new ResponseParseError("response line too long");
    // A copy, so the (possibly large) chunk it came from is not kept alive.
    this.#pending = Buffer.from(data.subarray(at));
  }

  #head(head: string): void {
    const lines = head.split("\r\n");
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]!);
    if (statusLine === null) throw new ResponseParseError(`not an HTTP/1.x status line: ${lines[0]}`);
    const status = Number(statusLine[2]);
    let close = statusLine[1] === "0";
    let length: number | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon <= 0) throw new ResponseParseError(`malformed header line: ${line}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (name === "content-length") {
        if (!/^\d+$/.test(value)) throw new ResponseParseError(`bad Content-Length: ${value}`);
        if (length !== undefined && length !== Number(value))
          throw new ResponseParseError("conflicting Content-Length headers");
        length = Number(value);
      } else if (name === "transfer-encoding") {
        // Chunked is the final coding when present (RFC 9112 §6.1); any other ends at the close.
        const codings = value.split(",").map((coding) => coding.trim());
        chunked = codings[codings.length - 1] === "chunked";
        if (!chunked) length = undefined;
      } else if (name === "connection") {
        const tokens = value.split(",").map((token) => token.trim());
        if (tokens.includes("close")) close = true;
        else if (tokens.includes("keep-alive")) close = false;
      }
    }
    this.#status = status;
    this.#close = close;
    if (status < 200) {
      // An interim answer (100 Continue): the real one follows.
      this.#state = "head";
    } else if (status === 204 || status === 304) {
      this.#complete();
    } else if (chunked) {
      this.#state = "chunk-size";
    } else if (length !== undefined) {
      this.#remaining = length;
      if (length === 0) this.#complete();
      else this.#state = "body";
    } else {
      this.#close = true;
      this.#state = "until-close";
    }
  }

  #line(line: string): void {
    switch (this.#state) {
      case "chunk-size": {
        const size = line.split(";", 1)[0]!.trim();
        if (!/^[0-9a-fA-F]+$/.test(size)) throw new ResponseParseError(`bad chunk size: ${line}`);
        this.#remaining = Number.parseInt(size, 16);
        this.#state = this.#remaining === 0 ? "trailers" : "chunk-data";
        return;
      }
      case "chunk-end":
        if (line !== "") throw new ResponseParseError("chunk data longer than its size");
        this.#state = "chunk-size";
        return;
      default:
        // Trailer fields are skipped; the empty line ends the response.
        if (line === "") this.#complete();
    }
  }

  #complete(): void {
    this.#state = "head";
    this.#remaining = 0;
    this.#onResponse({ status: this.#status, close: this.#close });
  }
}
