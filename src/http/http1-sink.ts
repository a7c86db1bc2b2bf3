import {
  type IncomingMessage,
  type ServerResponse,
  validateHeaderName,
  validateHeaderValue,
} from "node:http";
import type { Socket } from "node:net";
import type { StreamSink } from "../hub/stream-sink.ts";
import { type StreamSinkOptions, streamHeaders } from "./stream-head.ts";

const CRLF = Buffer.from("\r\n");
const LAST_CHUNK = "0\r\n\r\n";

const streaming = new WeakSet<object>();

/**
 * Whether the response is a stream this module started (its head is sent, whatever Node thinks).
 * Never true of an HTTP/2 response: its stream knows when its headers were sent.
 */
export function isStreaming(res: object): boolean {
  return streaming.has(res);
}

/**
 * A subscriber stream over an HTTP/1.x response, written straight to the socket: the fast path. Through
 * ServerResponse, every write would cost a cork, a tick and a three-buffer writev for the chunk
 * framing, and the response head would stay in memory, as a string tree, for the life of the
 * stream. Here the head goes out with the first write, and each flush is one buffer, framing
 * included, and one write(2). The body is chunked for HTTP/1.1, so that a client can tell a stream
 * the hub ended from one that was cut; an HTTP/1.0 client gets a body that ends with the
 * connection.
 *
 * The response must own its socket already (see connection-turn.ts). ServerResponse never learns that
 * a head was sent: `isStreaming` tells the error path not to answer again.
 */
export function http1Sink(
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string>,
  options: StreamSinkOptions = {},
): StreamSink {
  return new Http1Sink(req, res, headers, options.legacyAnchorHeader === true);
}

/** A class rather than an object of closures: one object per stream, the methods shared. */
class Http1Sink implements StreamSink {
  readonly #res: ServerResponse;
  readonly #socket: Socket;
  readonly #chunked: boolean;
  /** The response's own headers (CORS), until the head is built. */
  #headers: Record<string, string> | undefined;
  readonly #legacyAnchorHeader: boolean;
  /** The response head, until the first write takes it along. */
  #head: string | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>, legacy: boolean) {
    this.#res = res;
    this.#socket = res.socket as Socket;
    this.#chunked = req.httpVersionMajor === 1 && req.httpVersionMinor >= 1;
    this.#headers = headers;
    this.#legacyAnchorHeader = legacy;
  }

  start(anchor: string | undefined): void {
    const head = streamHeaders(this.#headers!, anchor, this.#legacyAnchorHeader);
    this.#headers = undefined;
    if (this.#chunked) head["Transfer-Encoding"] = "chunked";
    // The stream is the connection's last response: node:http never sees it finish, so the
    // socket is closed after it rather than kept for another request.
    head.Connection = "close";
    this.#head = responseHead(head);
    streaming.add(this.#res);
  }

  write(frames: readonly Buffer[], bytes: number): boolean {
    const body = this.#chunked ? chunk(frames, bytes) : join(frames, bytes);
    if (this.#head === undefined) return this.#socket.write(body);
    // The head and the first events in one writev.
    this.#socket.cork();
    this.#socket.write(this.#takeHead(), "latin1");
    const more = this.#socket.write(body);
    this.#socket.uncork();
    return more;
  }

  #takeHead(): string {
    const head = this.#head!;
    this.#head = undefined;
    return head;
  }

  onDrain(callback: () => void): void {
    this.#socket.on("drain", callback);
  }

  onClose(callback: () => void): void {
    // A response that already closed will not emit 'close' again: call back anyway (after the
    // caller has finished registering the stream), or the stream would outlive its client.
    if (this.#res.closed) queueMicrotask(callback);
    else this.#res.once("close", callback);
  }

  end(graceMs: number): void {
    const head = this.#head === undefined ? "" : this.#takeHead();
    const socket = this.#socket;
    socket.end(this.#chunked ? head + LAST_CHUNK : head, "latin1");
    // node:http keeps a connection half open after its last response has been sent, until the
    // client closes its side; a client that reads nothing never does. Closed once everything has
    // left, as node:http closes after a `Connection: close` response, or cut after `graceMs`.
    if (socket.writableFinished) {
      socket.destroy();
      return;
    }
    const cut = setTimeout(() => socket.destroy(), graceMs).unref();
    socket.once("finish", () => socket.destroy());
    socket.once("close", () => clearTimeout(cut));
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/** `HTTP/1.1 200 OK` and the headers, validated as node:http validates them (no CR, no LF). */
function responseHead(headers: Record<string, string>): string {
  let head = "HTTP/1.1 200 OK\r\n";
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

function join(frames: readonly Buffer[], bytes: number): Buffer {
  return frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes);
}

/**
 * The last single frame chunked, and its chunk. A broadcast hands the same frame to every stream
 * it reaches, one after another: each then writes the one shared chunk (sockets never write into
 * what they are given) instead of allocating and copying a chunk of its own.
 */
let lastFrame: Buffer | undefined;
let lastChunk: Buffer | undefined;

/** The frames as one HTTP/1.1 chunk: size in hex, CRLF, the frames, CRLF, in a single buffer. */
function chunk(frames: readonly Buffer[], bytes: number): Buffer {
  if (frames.length === 1) {
    if (frames[0] !== lastFrame) {
      lastFrame = frames[0]!;
      lastChunk = encodeChunk(frames, bytes);
    }
    return lastChunk!;
  }
  return encodeChunk(frames, bytes);
}

function encodeChunk(frames: readonly Buffer[], bytes: number): Buffer {
  const size = bytes.toString(16);
  const buffer = Buffer.allocUnsafe(size.length + 2 + bytes + 2);
  let at = buffer.write(size, 0, "latin1");
  at += CRLF.copy(buffer, at);
  for (const frame of frames) at += frame.copy(buffer, at);
  CRLF.copy(buffer, at);
  return buffer;
}
