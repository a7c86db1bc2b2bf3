import type { Server, Socket } from "node:net";
import { requestRefused } from "../hub/diagnostics.ts";
import { decrement, increment } from "./counts.ts";
import { type HttpRequest, type HttpResponse, isHttp2 } from "./exchange.ts";
import { sendProblem } from "./respond.ts";
import type { TcpSockets } from "./tcp-sockets.ts";

/** Bounds on the TCP sockets the HTTP server holds, whatever they carry (streams, publishes, nothing). */
export interface SocketLimits {
  /** Most sockets served normally. */
  readonly maxSockets: number;
  /** Most sockets served normally from one client address. */
  readonly maxSocketsPerClient: number;
  /** How long a new socket has to send its first request's headers, in milliseconds. */
  readonly headersTimeoutMs: number;
  /** The same for a socket past a limit: shorter, so that the band past the limits is renewed quickly. */
  readonly refusalHeadersMs: number;
}

type Handler = (req: HttpRequest, res: HttpResponse) => void;

/** Which limit a socket was past when it was accepted. */
type Refusal = "total" | "client";

/** What the guard keeps of a socket: where its count goes back to when it closes. */
interface Entry {
  readonly address: string;
  readonly refusal: Refusal | undefined;
}

/**
 * Sockets past a limit one client address may hold at once, waiting for their refusal: more are
 * closed at once, so that one address cannot fill the band where health checks are answered.
 */
const REFUSED_PER_CLIENT = 8;

/** Sent with every refusal: long enough for streams or sockets to be given back. */
const RETRY_AFTER_SECONDS = "5";

/**
 * The sockets past a limit that are still accepted, to be answered instead of reset: at least 16,
 * and a sixteenth of the limit on a large hub. Past `maxSockets` plus this band the kernel's
 * connection is closed as soon as it is accepted, so the process never runs out of descriptors.
 */
export function refusalBand(maxSockets: number): number {
  return Math.max(16, Math.ceil(maxSockets / 16));
}

/**
 * Counts the server's TCP sockets, in total and per client address, from 'connection' to 'close',
 * and closes a socket that sends no request within the headers timeout.
 * A socket within the limits is served as usual. A socket past one is still accepted and parsed,
 * but must send its headers within `refusalHeadersMs`; its request is refused with 503
 * `hub_at_capacity` (total) or 429 `too_many_connections` (per client), with `Retry-After` and
 * `Connection: close`, except a health check, which is answered as usual so that an orchestrator
 * still sees a live hub while it is under attack. Idle bare sockets would otherwise take every
 * descriptor, after which even /healthz is reset (CWE-400, CWE-770).
 *
 * Whatever the protocol: sockets are counted as the listener accepts them, before any TLS
 * handshake, and "first request" means the first HTTP/1.1 request or the first HTTP/2 stream.
 * Over HTTP/2 a refusal goes out on the stream that asked, and the session is then closed
 * (GOAWAY): one answer per connection past a limit, as over HTTP/1.1.
 */
export class ConnectionGuard {
  readonly #limits: SocketLimits;
  /** Sockets served normally, per client address. */
  readonly #admitted = new Map<string, number>();
  /** Sockets past a limit, per client address. */
  readonly #refused = new Map<string, number>();
  readonly #entries = new Map<Socket, Entry>();
  /**
   * Sockets that have not sent a request yet, and when they must have: swept by one timer rather
   * than a timer each, since every socket passes through here and a stream stays for hours.
   */
  readonly #awaitingRequest = new Map<Socket, number>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #admittedTotal = 0;
  #refusedTotal = 0;
  /** Shared by every socket, which it finds through `this`: no closure kept per connection. */
  readonly #onClose: (this: Socket) => void;

  readonly #sockets: TcpSockets;

  /** `server` is the listener, which accepts every TCP connection; `sockets` finds a request's. */
  constructor(server: Server, limits: SocketLimits, sockets: TcpSockets) {
    this.#limits = limits;
    this.#sockets = sockets;
    const guard = this;
    this.#onClose = function (this: Socket) {
      guard.#forget(this);
    };
    // The hard ceiling: Node closes a connection past it before emitting 'connection'.
    server.maxConnections = limits.maxSockets + refusalBand(limits.maxSockets);
    server.on("connection", (socket: Socket) => this.#accept(socket));
  }

  /** Sockets open now, served or waiting for their refusal. */
  get open(): number {
    return this.#admittedTotal + this.#refusedTotal;
  }

  /** Sockets open now from one client address. */
  openFrom(address: string): number {
    return (this.#admitted.get(address) ?? 0) + (this.#refused.get(address) ?? 0);
  }

  /**
   * Wraps the request handler: requests on a socket past a limit are refused, health checks
   * (`isExempt`) excepted; `headers` adds headers to a refusal (CORS, so a browser can read it).
   */
  guard(
    handler: Handler,
    isExempt: (req: HttpRequest) => boolean,
    headers: (req: HttpRequest) => Record<string, string>,
  ): Handler {
    return (req, res) => {
      const socket = this.#sockets.of(req);
      if (socket !== undefined) this.#awaitingRequest.delete(socket);
      const refusal = socket === undefined ? undefined : this.#entries.get(socket)?.refusal;
      if (refusal === undefined) {
        handler(req, res);
        return;
      }
      // One answer per socket past a limit: its slot is not kept for another request. HTTP/2
      // forbids the Connection header: its session is told to go away instead, and closes once
      // the streams it carries (this answer included) have finished.
      const closing: Record<string, string> = {};
      if (isHttp2(res)) res.stream.session?.close();
      else {
        res.setHeader("Connection", "close");
        closing.Connection = "close";
      }
      if (isExempt(req)) {
        handler(req, res);
        return;
      }
      const refusalHeaders = { ...headers(req), "Retry-After": RETRY_AFTER_SECONDS, ...closing };
      if (requestRefused.hasSubscribers) {
        requestRefused.publish(
          refusal === "total"
            ? { code: "hub_at_capacity", status: 503, limit: "maxSockets" }
            : { code: "too_many_connections", status: 429, limit: "maxSocketsPerClient" },
        );
      }
      if (refusal === "total") {
        sendProblem(
          res,
          "hub_at_capacity",
          "the hub holds as many connections as it may (max-sockets)",
          refusalHeaders,
        );
      } else {
        sendProblem(
          res,
          "too_many_connections",
          "this client holds too many connections (max-sockets-per-client)",
          refusalHeaders,
        );
      }
    };
  }

  #accept(socket: Socket): void {
    // Read now: a socket forgets its address once closed, and the count must go back where it came.
    const address = socket.remoteAddress ?? "";
    const refusal = this.#refusalFor(address);
    if (refusal !== undefined && (this.#refused.get(address) ?? 0) >= REFUSED_PER_CLIENT) {
      socket.destroy();
      return;
    }
    increment(refusal === undefined ? this.#admitted : this.#refused, address);
    if (refusal === undefined) this.#admittedTotal++;
    else this.#refusedTotal++;
    this.#entries.set(socket, { address, refusal });
    socket.on("close", this.#onClose);
    // Node's headers timeout starts with a request's first byte: a socket that never sends one
    // would be kept until it closes. This deadline covers the first request; Node's headers
    // timeout and keep-alive timeout cover the later ones.
    const allowed = refusal === undefined ? this.#limits.headersTimeoutMs : this.#limits.refusalHeadersMs;
    this.#awaitingRequest.set(socket, Date.now() + allowed);
    this.#sweepTimer ??= setInterval(() => this.#sweep(), this.#sweepPeriod()).unref();
  }

  #forget(socket: Socket): void {
    this.#awaitingRequest.delete(socket);
    const entry = this.#entries.get(socket);
    if (entry === undefined) return;
    this.#entries.delete(socket);
    decrement(entry.refusal === undefined ? this.#admitted : this.#refused, entry.address);
    if (entry.refusal === undefined) this.#admittedTotal--;
    else this.#refusedTotal--;
  }

  /** Closes the sockets past their deadline; stops while none is waiting for its first request. */
  #sweep(): void {
    const now = Date.now();
    for (const [socket, deadline] of this.#awaitingRequest) {
      if (deadline <= now) {
        this.#awaitingRequest.delete(socket);
        socket.destroy();
      }
    }
    if (this.#awaitingRequest.size === 0) {
      clearInterval(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
  }

  /** A quarter of the shortest deadline, at most a second: a silent socket is closed close to it. */
  #sweepPeriod(): number {
    const shortest = Math.min(this.#limits.headersTimeoutMs, this.#limits.refusalHeadersMs);
    return Math.max(10, Math.min(1000, Math.ceil(shortest / 4)));
  }

  #refusalFor(address: string): Refusal | undefined {
    if (this.#admittedTotal >= this.#limits.maxSockets) return "total";
    if ((this.#admitted.get(address) ?? 0) >= this.#limits.maxSocketsPerClient) return "client";
    return undefined;
  }
}
