import { createServer as createHttp1Server, type Server as Http1Server } from "node:http";
import {
  constants,
  createServer as createHttp2Server,
  createSecureServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2Session,
  type ServerHttp2Stream,
  type Settings,
} from "node:http2";
import { createServer as createNetServer, type Server as NetServer, type Socket } from "node:net";
import type { HttpRequest, HttpResponse } from "../http/exchange.ts";
import type { CertificatePair } from "./certificate.ts";

/** The limits every protocol is served with. */
export interface ProtocolOptions {
  /** With a pair: HTTPS, HTTP/2 and HTTP/1.1 chosen by ALPN. */
  readonly tls: CertificatePair | undefined;
  /** Without TLS: cleartext HTTP/2 with prior knowledge, beside HTTP/1.1. */
  readonly h2c: boolean;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxStreamsPerConnection: number;
}

/** The servers behind the hub's port. */
export interface ProtocolServers {
  /** The server that listens: it accepts every TCP connection, which the socket limits count. */
  readonly listener: NetServer;
  /** The TLS server, whose certificate `setSecureContext` replaces; undefined without TLS. */
  readonly secure: Http2SecureServer | undefined;
  /** Every request, HTTP/1.1 or HTTP/2 (the compatibility API), goes to `handler`. */
  onRequest(handler: (req: HttpRequest, res: HttpResponse) => void): void;
  /** Every HTTP/2 session, as it begins. */
  onSession(listener: (session: Http2Session) => void): void;
  /** Once every connection has closed: stops what the listener's own `close` does not. */
  release(): void;
}

/**
 * The HTTP/1.1 head's ceiling in Node (`--max-http-header-size`): HTTP/2 advertises the same
 * bound for a header list, so that a request refused over one is refused over the other.
 */
const MAX_HEADER_LIST_BYTES = 16 * 1024;

/** The first bytes of every HTTP/2 connection (RFC 9113 section 3.4). */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/**
 * Builds the servers for the port: node:http alone by default; with TLS, node:http2's secure
 * server, which serves HTTP/1.1 too (`allowHTTP1`), the protocol chosen by ALPN; with h2c, a
 * plain listener that reads each connection's first bytes and hands it to node:http2 when they
 * are the HTTP/2 preface, to node:http otherwise (node:http2 has no HTTP/1.1 fallback without
 * TLS: ALPN is what it relies on).
 */
export function createProtocolServers(options: ProtocolOptions): ProtocolServers {
  const http1Options = {
    requestTimeout: options.requestTimeoutMs,
    headersTimeout: options.headersTimeoutMs,
    // Expired headers are only noticed at this interval (Node checks every 30 s by default):
    // a tenth of the timeout, at most a second, so a silent socket is closed close to it.
    connectionsCheckingInterval: Math.min(1000, Math.ceil(options.headersTimeoutMs / 10)),
  };
  const http2Settings: Settings = {
    maxConcurrentStreams: options.maxStreamsPerConnection,
    maxHeaderListSize: MAX_HEADER_LIST_BYTES,
  };
  if (options.tls !== undefined) {
    const secure = createSecureServer({
      ...options.tls,
      allowHTTP1: true,
      ALPNProtocols: ["h2", "http/1.1"],
      settings: http2Settings,
      // The TLS handshake is part of the time a connection has to send its first request.
      handshakeTimeout: options.headersTimeoutMs,
    });
    // What node:http2 reads for its HTTP/1.1 connections, as node:http takes them as options.
    Object.assign(secure, http1Options);
    boundRequestArrival(secure, options.requestTimeoutMs);
    return {
      listener: secure,
      secure,
      onRequest: (handler) => secure.on("request", handler),
      onSession: (listener) => secure.on("session", listener),
      release: () => {},
    };
  }
  const http1 = createHttp1Server(http1Options);
  if (!options.h2c) {
    return {
      listener: http1,
      secure: undefined,
      onRequest: (handler) => http1.on("request", handler),
      onSession: () => {},
      release: () => {},
    };
  }
  const http2 = createHttp2Server({ settings: http2Settings });
  boundRequestArrival(http2, options.requestTimeoutMs);
  const listener = createNetServer((socket) => handOver(socket, http1, http2));
  // node:http checks its headers and request timeouts from 'listening', which a server that is
  // handed its connections never sees.
  http1.emit("listening");
  return {
    listener,
    secure: undefined,
    onRequest: (handler) => {
      http1.on("request", handler);
      http2.on("request", handler);
    },
    onSession: (listener) => http2.on("session", listener),
    // Stops node:http's timeout checks; every connection is closed by then.
    release: () => http1.close(),
  };
}

/**
 * node:http bounds the time a whole request takes to arrive (`requestTimeout`); node:http2 has no
 * such bound, and a publisher trickling its body would hold its stream, its slot among the
 * session's streams and the body read so far for ever. The same bound, per stream: one whose
 * body has not ended in time is reset (RST_STREAM CANCEL). A request without a body (every
 * subscription) ends with its headers and is not timed.
 */
function boundRequestArrival(server: Http2Server | Http2SecureServer, timeoutMs: number): void {
  server.on("stream", (stream: ServerHttp2Stream) => {
    if (stream.endAfterHeaders) return;
    const cut = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), timeoutMs).unref();
    const arrived = () => clearTimeout(cut);
    stream.once("end", arrived);
    stream.once("close", arrived);
  });
}

/**
 * Reads a connection's first bytes, as many as the HTTP/2 preface or until they differ from it,
 * puts them back and hands the connection over. A connection that sends nothing is closed by the
 * socket limits' first-request deadline.
 */
function handOver(socket: Socket, http1: Http1Server, http2: Http2Server): void {
  let received: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const compared = Math.min(received.length, HTTP2_PREFACE.length);
    const isPreface = received.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (isPreface && compared < HTTP2_PREFACE.length) return;
    socket.off("data", onData);
    socket.pause();
    socket.unshift(received);
    if (isPreface) {
      // node:http2 reads what the socket holds already as the session starts.
      http2.emit("connection", socket);
    } else {
      http1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  // Until a server has it, an error (a reset) only closes it.
  socket.once("error", () => socket.destroy());
}
