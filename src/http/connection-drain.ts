import type { ServerResponse } from "node:http";
import type { Http2Session } from "node:http2";
import type { Server, Socket } from "node:net";
import { type HttpRequest, type HttpResponse, isHttp2 } from "./exchange.ts";
import type { TcpSockets } from "./tcp-sockets.ts";

type Handler = (req: HttpRequest, res: HttpResponse) => void;

/**
 * How long a connection must have been idle before the shutdown closes it. A client that got a
 * keep-alive answer just before may already be writing its next request on that connection;
 * closing it under that request resets it (the kernel answers unread data with RST). Waiting
 * lets the request arrive, and it is answered with `Connection: close` instead.
 */
const IDLE_GRACE_MS = 250;

interface SocketState {
  /**
   * Requests received on this socket and not yet answered: the first one, and a set only when
   * several are (pipelined). A stream is a response that lasts, so every stream holds one: no
   * more than a field for the usual single response.
   */
  response: ServerResponse | undefined;
  pipelined: Set<ServerResponse> | undefined;
  /** When the last answer finished, or the socket was accepted. */
  idleSince: number;
  /** socket.bytesRead then: more means a request is arriving. */
  bytesReadWhenIdle: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** The HTTP/2 session the socket carries: closed with GOAWAY, never as an idle HTTP/1 socket. */
  session: Http2Session | undefined;
}

/**
 * Closes the HTTP server without resetting a request: stops accepting connections, lets every
 * request already received be answered (with `Connection: close`), closes keep-alive connections
 * once they have been idle for a moment, and destroys what is left after the shutdown timeout.
 *
 * `http.Server#close` alone destroys every connection it deems idle at once, including a
 * keep-alive connection whose next request is already in its receive buffer: that publish was
 * sent and is answered with a reset.
 *
 * An HTTP/2 session is told to go away (GOAWAY, `session.close()`): it takes no new stream, and
 * closes once the streams it carries have finished; the hub ends its subscriber streams as it
 * closes. Sockets are the listener's, over TLS or not (`TcpSockets` finds a request's).
 */
export class ConnectionDrain {
  readonly #server: Server;
  readonly #sockets = new Map<Socket, SocketState>();
  #draining = false;
  /**
   * Listeners shared by every socket and response, which find theirs through `this`: no closure
   * is kept per connection or per request.
   */
  readonly #onSocketClose: (this: Socket) => void;
  readonly #onResponseClose: (this: ServerResponse) => void;
  readonly #tcp: TcpSockets;

  constructor(server: Server, sockets: TcpSockets) {
    this.#server = server;
    this.#tcp = sockets;
    const drain = this;
    this.#onSocketClose = function (this: Socket) {
      drain.#socketClosed(this);
    };
    this.#onResponseClose = function (this: ServerResponse) {
      drain.#responseClosed(this);
    };
    server.on("connection", (socket: Socket) => {
      const state: SocketState = {
        response: undefined,
        pipelined: undefined,
        idleSince: Date.now(),
        bytesReadWhenIdle: 0,
        idleTimer: undefined,
        session: undefined,
      };
      this.#sockets.set(socket, state);
      socket.on("close", this.#onSocketClose);
      if (this.#draining) this.#closeWhenIdle(socket, state);
    });
  }

  #socketClosed(socket: Socket): void {
    clearTimeout(this.#sockets.get(socket)?.idleTimer);
    this.#sockets.delete(socket);
  }

  #responseClosed(res: ServerResponse): void {
    const socket = this.#tcp.of(res.req);
    const state = socket === undefined ? undefined : this.#sockets.get(socket);
    if (socket === undefined || state === undefined) return;
    if (state.response === res) state.response = undefined;
    else state.pipelined?.delete(res);
    if (state.response === undefined && state.pipelined !== undefined && state.pipelined.size > 0) {
      const [next] = state.pipelined;
      state.pipelined.delete(next!);
      state.response = next;
    }
    if (state.response !== undefined) return;
    state.pipelined = undefined;
    state.idleSince = Date.now();
    state.bytesReadWhenIdle = socket.bytesRead;
    if (this.#draining && !socket.destroyed) this.#closeWhenIdle(socket, state);
  }

  /** An HTTP/2 session began: on its socket, it replaces the HTTP/1 idle logic. */
  trackSession(session: Http2Session): void {
    const socket = this.#tcp.ofSession(session);
    const state = socket === undefined ? undefined : this.#sockets.get(socket);
    if (state === undefined) return;
    clearTimeout(state.idleTimer);
    state.session = session;
    if (this.#draining) session.close();
  }

  /** Wraps the request handler, to know which connections have a request in progress. */
  track(handler: Handler): Handler {
    return (req, res) => {
      // HTTP/2: its session, not each stream, is what the shutdown closes.
      if (isHttp2(res)) {
        handler(req, res);
        return;
      }
      const socket = this.#tcp.of(req);
      const state = socket === undefined ? undefined : this.#sockets.get(socket);
      if (state !== undefined) {
        clearTimeout(state.idleTimer);
        if (state.response === undefined) state.response = res;
        else {
          state.pipelined ??= new Set();
          state.pipelined.add(res);
        }
        res.on("close", this.#onResponseClose);
      }
      if (this.#draining) res.setHeader("Connection", "close");
      handler(req, res);
    };
  }

  /**
   * Stops accepting connections at once; resolves when every connection is closed, destroying
   * those still open after `timeoutMs`.
   */
  close(timeoutMs: number): Promise<void> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => {
      // Without its idle connections closed at once: they are closed below, after their grace.
      Object.defineProperty(this.#server, "closeIdleConnections", { value: () => {}, configurable: true });
      try {
        this.#server.close(() => resolve());
      } finally {
        Reflect.deleteProperty(this.#server, "closeIdleConnections");
      }
    });
    for (const [socket, state] of this.#sockets) {
      if (state.session !== undefined) {
        state.session.close();
        continue;
      }
      for (const res of responses(state)) if (!res.headersSent) res.setHeader("Connection", "close");
      if (state.response === undefined) this.#closeWhenIdle(socket, state);
    }
    // Every socket the listener accepted, whatever it carries (an HTTP/2 session goes with it).
    const force = setTimeout(() => {
      for (const socket of this.#sockets.keys()) socket.destroy();
    }, timeoutMs);
    return closed.finally(() => clearTimeout(force));
  }

  #closeWhenIdle(socket: Socket, state: SocketState): void {
    clearTimeout(state.idleTimer);
    const wait = Math.max(0, state.idleSince + IDLE_GRACE_MS - Date.now());
    state.idleTimer = setTimeout(() => {
      // A request arriving (bytes read, its headers not complete yet) is left to finish; so is a
      // socket that turned out to carry an HTTP/2 session (a TLS handshake that was under way).
      if (
        state.response === undefined &&
        state.session === undefined &&
        socket.bytesRead === state.bytesReadWhenIdle
      )
        socket.destroy();
    }, wait);
  }
}

function* responses(state: SocketState): Generator<ServerResponse> {
  if (state.response !== undefined) yield state.response;
  if (state.pipelined !== undefined) yield* state.pipelined;
}
