import { validateHeaderName, validateHeaderValue } from "node:http";
import { constants, type Http2ServerResponse, type ServerHttp2Stream } from "node:http2";
import type { StreamSink } from "../hub/stream-sink.ts";
import { type StreamSinkOptions, streamHeaders } from "./stream-head.ts";

/**
 * A subscriber stream over an HTTP/2 stream. HTTP/2 frames the body itself and multiplexes the
 * connection: no chunk framing, no `Connection` or `Transfer-Encoding` header (both are
 * forbidden, RFC 9113 section 8.2.2), and ending or dropping one stream leaves the session and
 * its other streams alone. Flow control is per stream: a subscriber that stops reading stalls
 * its own stream, whose writes then report backpressure to the hub as a socket's would.
 */
export function http2Sink(
  res: Http2ServerResponse,
  headers: Record<string, string>,
  options: StreamSinkOptions = {},
): StreamSink {
  return new Http2Sink(res, headers, options.legacyAnchorHeader === true);
}

class Http2Sink implements StreamSink {
  readonly #res: Http2ServerResponse;
  readonly #stream: ServerHttp2Stream;
  /** The response's own headers (CORS), until the head is sent. */
  #headers: Record<string, string> | undefined;
  readonly #legacyAnchorHeader: boolean;

  constructor(res: Http2ServerResponse, headers: Record<string, string>, legacy: boolean) {
    this.#res = res;
    this.#stream = res.stream;
    this.#headers = headers;
    this.#legacyAnchorHeader = legacy;
  }

  start(anchor: string | undefined): void {
    const head = streamHeaders(this.#headers!, anchor, this.#legacyAnchorHeader);
    this.#headers = undefined;
    // Validated as the HTTP/1.1 head is: a value that would split a header is refused here too.
    for (const [name, value] of Object.entries(head)) {
      validateHeaderName(name);
      validateHeaderValue(name, value);
    }
    // Sent at once: HTTP/2 sends headers in a frame of their own, so there is no write to save.
    this.#stream.respond({ ...head, ":status": 200 });
  }

  write(frames: readonly Buffer[], bytes: number): boolean {
    return this.#stream.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes));
  }

  onDrain(callback: () => void): void {
    this.#stream.on("drain", callback);
  }

  onClose(callback: () => void): void {
    // A stream that already closed will not emit 'close' again: call back anyway (after the
    // caller has finished registering the stream), or the stream would outlive its client.
    if (this.#stream.closed || this.#stream.destroyed) queueMicrotask(callback);
    else this.#res.once("close", callback);
  }

  end(graceMs: number): void {
    const stream = this.#stream;
    if (stream.destroyed) return;
    // END_STREAM once what was written has left: the client sees the stream end cleanly.
    stream.end();
    if (stream.closed) return;
    // A client that reads nothing keeps its flow-control window shut, and what is left would
    // wait for it forever: cut after `graceMs` (RST_STREAM, the session stays up).
    const cut = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), graceMs).unref();
    stream.once("close", () => clearTimeout(cut));
  }

  destroy(): void {
    // RST_STREAM: the client sees a cut stream, never one that ended cleanly.
    if (!this.#stream.destroyed) this.#stream.close(constants.NGHTTP2_CANCEL);
  }
}
