/**
 * A load-generator process (forked by the coordinator): holds up to ~15k raw HTTP/1.1 subscriber
 * sockets, bound to its own loopback source addresses, and counts the events each receives
 * (event-counter.ts). A few probe sockets also read the publish time each event carries and
 * record publish-to-deliver latency. The commands it answers are generator-process.ts's.
 *
 * Raw sockets rather than an HTTP client: the generator writes its own `GET` and reads only the
 * status line, so a subscriber costs a socket and a few objects, and the generator measures the
 * hub, not itself.
 */
import { connect, type Socket } from "node:net";
import { EventCounter } from "./event-counter.ts";
import { serveGenerator } from "./generator-process.ts";

const LINE_END = Buffer.from("\r\n");
/** A status line longer than this is no HTTP response. */
const MAX_STATUS_LINE = 1024;

class Subscriber extends EventCounter {
  /** The start of the response, until its status line is complete. */
  #head: Buffer = Buffer.alloc(0);
  readonly socket: Socket;

  constructor(socket: Socket, latencies: number[] | undefined, onEvent: (subscriber: EventCounter) => void) {
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

const sockets: Socket[] = [];

serveGenerator({
  async open(command, { subscribers, latencies, onEvent }) {
    let failed = 0;
    let firstError: string | undefined;
    const bySourceAddress: Record<string, number> = {};
    const pending: Promise<void>[] = [];
    for (let i = 0; i < command.count; i++) {
      pending.push(
        new Promise<void>((resolve) => {
          const socket = connect({
            port: command.port,
            host: "127.0.0.1",
            localAddress: command.addresses[i % command.addresses.length],
          });
          socket.setNoDelay(true);
          sockets.push(socket);
          const subscriber = new Subscriber(socket, i < command.probes ? latencies : undefined, onEvent);
          socket.once("connect", () => {
            socket.write(command.requests[i % command.requests.length]!);
            subscribers.push(subscriber);
            const address = socket.localAddress ?? "unknown";
            bySourceAddress[address] = (bySourceAddress[address] ?? 0) + 1;
            resolve();
          });
          socket.once("error", (error) => {
            subscriber.closed = true;
            if (!subscribers.includes(subscriber)) {
              failed++;
              firstError ??= error.message;
              resolve();
            }
          });
          socket.once("close", () => {
            subscriber.closed = true;
          });
        }),
      );
      // Connect in waves, so the hub's accept queue is not flooded.
      if (pending.length % 500 === 0) await Promise.all(pending.slice(-500));
    }
    await Promise.all(pending);
    return { failed, bySourceAddress, ...(firstError ? { firstError } : {}) };
  },
  close() {
    for (const socket of sockets) socket.destroy();
  },
});
