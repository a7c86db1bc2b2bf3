import type { Http2Session } from "node:http2";
import { Http2ServerRequest } from "node:http2";
import type { Server as NetServer, Socket } from "node:net";
import type { HttpRequest } from "./exchange.ts";

/** What identifies an open TCP connection on one listening port: the peer and the local address. */
interface Endpoints {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
}

/**
 * Finds the TCP socket a request or an HTTP/2 session came on, whatever the protocol: the socket
 * the listener accepted, which the socket limits count and the shutdown closes.
 *
 * Over plain HTTP/1.1 that is the request's own socket. Over TLS, the request's socket is the
 * TLS socket wrapped around it, and an HTTP/2 request or session only shows a stand-in for its
 * socket: neither is the accepted one. Both still read the accepted socket's addresses, and no
 * two open connections to one port share their peer address, peer port and local address: that
 * triple finds the accepted socket, from public properties only.
 */
export class TcpSockets {
  /** Only when TLS or HTTP/2 is served: plain HTTP/1.1 needs no index. */
  readonly #byEndpoints: Map<string, Socket> | undefined;

  constructor(listener: NetServer, indexed: boolean) {
    if (!indexed) return;
    const byEndpoints = new Map<string, Socket>();
    this.#byEndpoints = byEndpoints;
    listener.on("connection", (socket: Socket) => {
      const key = keyOf(socket);
      byEndpoints.set(key, socket);
      socket.once("close", () => {
        if (byEndpoints.get(key) === socket) byEndpoints.delete(key);
      });
    });
  }

  /** The accepted socket a request came on; undefined once it has closed. */
  of(req: HttpRequest): Socket | undefined {
    if (this.#byEndpoints === undefined) return req.socket as Socket;
    const socket = req instanceof Http2ServerRequest ? req.stream.session?.socket : req.socket;
    return socket === undefined ? undefined : this.#byEndpoints.get(keyOf(socket));
  }

  /** The accepted socket an HTTP/2 session runs on; undefined once it has closed. */
  ofSession(session: Http2Session): Socket | undefined {
    if (this.#byEndpoints === undefined || session.socket === undefined) return undefined;
    return this.#byEndpoints.get(keyOf(session.socket));
  }
}

function keyOf(socket: Endpoints): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}`;
}
