import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { StreamSink } from "../hub/stream-sink.ts";

const STREAM_HEADERS = {
  "Content-Type": "text/event-stream",
  // Neither browsers nor proxies may cache or buffer a live stream.
  "Cache-Control": "private, no-cache, no-store, must-revalidate, max-age=0",
  "X-Accel-Buffering": "no",
};

const CRLF = Buffer.from("\r\n");
const LAST_CHUNK = "0\r\n\r\n";

/**
 * Resolves once the response owns its socket: a request pipelined behind another whose response
 * is not finished gets its socket only then. Resolves too if the client leaves first (the caller
 * then finds `req.socket.destroyed`).
 */
export function ownSocket(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (res.socket !== null || req.socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off("socket", done);
      req.socket.off("close", done);
      resolve();
    };
    res.once("socket", done);
    req.socket.once("close", done);
  });
}

export interface ResponseSinkOptions {
  /** Send the replay anchor as `Last-Event-ID` too, as the legacy dialect did. */
  readonly legacyAnchorHeader?: boolean;
}

/**
 * A subscriber stream over an HTTP response. node:http sends the head; the body is then written
 * straight to the socket, because ServerResponse costs, per write, a cork, a tick and a
 * three-buffer writev for the chunk framing: here each flush is one buffer, framing included,
 * and one write(2). The body is chunked for HTTP/1.1, so that a client can tell a stream the hub
 * ended from one that was cut; an HTTP/1.0 client gets a body that ends with the connection.
 *
 * The response must own its socket already (see `ownSocket`).
 */
export function responseSink(
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string>,
  options: ResponseSinkOptions = {},
): StreamSink {
  const socket = res.socket as Socket;
  const chunked = req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1);
  return {
    start(anchor) {
      const head: Record<string, string> = { ...headers, ...STREAM_HEADERS };
      if (anchor !== undefined) {
        head["Mercure-Last-Event-ID"] = anchor;
        if (options.legacyAnchorHeader === true) head["Last-Event-ID"] = anchor;
      }
      if (chunked) head["Transfer-Encoding"] = "chunked";
      // The stream is the connection's last response: node:http never sees it finish, so the
      // socket is closed after it rather than kept for another request.
      head.Connection = "close";
      res.writeHead(200, head);
      res.flushHeaders();
    },
    write: (frames, bytes) => socket.write(chunked ? chunk(frames, bytes) : join(frames, bytes)),
    onDrain: (callback) => socket.on("drain", callback),
    // A response that already closed will not emit 'close' again: call back anyway (after the
    // caller has finished registering the stream), or the stream would outlive its client.
    onClose: (callback) => {
      if (res.closed) queueMicrotask(callback);
      else res.once("close", callback);
    },
    end: () => {
      if (chunked) socket.end(LAST_CHUNK, "latin1");
      else socket.end();
    },
    destroy: () => socket.destroy(),
  };
}

function join(frames: readonly Buffer[], bytes: number): Buffer {
  return frames.length === 1 ? frames[0]! : Buffer.concat(frames, bytes);
}

/** The frames as one HTTP/1.1 chunk: size in hex, CRLF, the frames, CRLF, in a single buffer. */
function chunk(frames: readonly Buffer[], bytes: number): Buffer {
  const size = bytes.toString(16);
  const buffer = Buffer.allocUnsafe(size.length + 2 + bytes + 2);
  let at = buffer.write(size, 0, "latin1");
  at += CRLF.copy(buffer, at);
  for (const frame of frames) at += frame.copy(buffer, at);
  CRLF.copy(buffer, at);
  return buffer;
}
