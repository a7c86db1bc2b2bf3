/**
 * A subscriber held on a raw socket (plain TCP or TLS): the load generator writes its own `GET`
 * and reads only the status line of the answer, then counts the events of the body. A subscriber
 * costs a socket and a few objects, so the generator measures the hub, not itself.
 */
import type { Socket } from "node:net";
import { EventCounter, type LatencySink } from "./event-counter.ts";

const LINE_END = Buffer.from("\r\n");
/** A status line longer than this is no HTTP response. */
const MAX_STATUS_LINE = 1024;

/** One subscriber's socket, its status line and its event count. */
export class RawSubscriber extends EventCounter {
  /** The start of the response, until its status line is complete. */
  #head: Buffer = Buffer.alloc(0);
  /** The socket it reads (connected or connecting). */
  readonly socket: Socket;

  constructor(
    socket: Socket,
    latencies: LatencySink | undefined,
    onEvent: (subscriber: EventCounter) => void,
  ) {
    super(latencies, onEvent);
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      if (this.statusLine === undefined) this.#readStatusLine(chunk);
      this.count(chunk);
    });
  }

  /** Keeps the start of the response until its first line ("HTTP/1.1 200 OK") is complete. */
  #readStatusLine(chunk: Buffer): void {
    const head = this.#head.length === 0 ? chunk : Buffer.concat([this.#head, chunk]);
    const end = head.indexOf(LINE_END);
    if (end === -1 && head.length < MAX_STATUS_LINE) {
      this.#head = Buffer.from(head);
      return;
    }
    this.statusLine = head.toString("latin1", 0, end === -1 ? MAX_STATUS_LINE : end);
    this.#head = Buffer.alloc(0);
  }
}
