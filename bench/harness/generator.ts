/**
 * A load-generator process (forked by the coordinator): holds up to ~15k raw HTTP/1.1 subscriber
 * sockets, bound to its own loopback source addresses, and counts the events each receives
 * (src/loadtest/event-counter.ts). A few probe sockets also read the publish time each event
 * carries and record publish-to-deliver latency. The commands it answers are generator-process.ts's.
 *
 * Raw sockets rather than an HTTP client: the generator writes its own `GET` and reads only the
 * status line, so a subscriber costs a socket and a few objects, and the generator measures the
 * hub, not itself (src/loadtest/raw-subscriber.ts).
 */
import { connect, type Socket } from "node:net";
import { RawSubscriber } from "../../src/loadtest/raw-subscriber.ts";
import { serveGenerator } from "./generator-process.ts";

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
          const subscriber = new RawSubscriber(socket, i < command.probes ? latencies : undefined, onEvent);
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
