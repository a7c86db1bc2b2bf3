import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * How long a connection must have been idle before the shutdown closes it. A client that got a
 * keep-alive answer just before may already be writing its next request on that connection;
 * closing it under that request resets it (the kernel answers unread data with RST). Waiting
 * lets the request arrive, and it is answered with `Connection: close` instead.
 */
const IDLE_GRACE_MS = 250;

interface SocketState {
  /** Requests received on this socket and not yet answered. */
  readonly responses: Set<ServerResponse>;
  /** When the last answer finished, or the socket was accepted. */
  idleSince: number;
  /** socket.bytesRead then: more means a request is arriving. */
  bytesReadWhenIdle: number;
  idleTimer: NodeJS.Timeout | undefined;
}

/**
 * Closes the HTTP server without resetting a request: stops accepting connections, lets every
 * request already received be answered (with `Connection: close`), closes keep-alive connections
 * once they have been idle for a moment, and destroys what is left after the shutdown timeout.
 *
 * `http.Server#close` alone destroys every connection it deems idle at once, including a
 * keep-alive connection whose next request is already in its receive buffer: that publish was
 * sent and is answered with a reset.
 */
export class ConnectionDrain {
  readonly #server: Server;
  readonly #sockets = new Map<Socket, SocketState>();
  #draining = false;

  constructor(server: Server) {
    this.#server = server;
    server.on("connection", (socket: Socket) => {
      const state: SocketState = {
        responses: new Set(),
        idleSince: Date.now(),
        bytesReadWhenIdle: 0,
        idleTimer: undefined,
      };
      this.#sockets.set(socket, state);
      socket.once("close", () => {
        clearTimeout(state.idleTimer);
        this.#sockets.delete(socket);
      });
      if (this.#draining) this.#closeWhenIdle(socket, state);
    });
  }

  /** Wraps the request handler, to know which connections have a request in progress. */
  track(handler: Handler): Handler {
    return (req, res) => {
      const socket = req.socket;
      const state = this.#sockets.get(socket);
      if (state !== undefined) {
        clearTimeout(state.idleTimer);
        state.responses.add(res);
        res.once("close", () => {
          state.responses.delete(res);
          if (state.responses.size > 0) return;
          state.idleSince = Date.now();
          state.bytesReadWhenIdle = socket.bytesRead;
          if (this.#draining && !socket.destroyed) this.#closeWhenIdle(socket, state);
        });
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
      for (const res of state.responses) if (!res.headersSent) res.setHeader("Connection", "close");
      if (state.responses.size === 0) this.#closeWhenIdle(socket, state);
    }
    const force = setTimeout(() => this.#server.closeAllConnections(), timeoutMs);
    return closed.finally(() => clearTimeout(force));
  }

  #closeWhenIdle(socket: Socket, state: SocketState): void {
    clearTimeout(state.idleTimer);
    const wait = Math.max(0, state.idleSince + IDLE_GRACE_MS - Date.now());
    state.idleTimer = setTimeout(() => {
      // A request arriving (bytes read, its headers not complete yet) is left to finish.
      if (state.responses.size === 0 && socket.bytesRead === state.bytesReadWhenIdle) socket.destroy();
    }, wait);
  }
}
