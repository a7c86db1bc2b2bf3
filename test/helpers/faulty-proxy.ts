import { connect, createServer, type Server, type Socket } from "node:net";

/** What the proxy does to the first connection; later ones are relayed both ways as they are. */
export type FirstConnectionFault =
  /** Relays the request, then cuts the client off as the hub's answer arrives: the answer is lost. */
  | "lose-answer"
  /** Answers the request itself with a `503`, as a load balancer with no backend ready does. */
  | "answer-503";

/** A TCP proxy in front of a hub that fails the first connection on purpose. */
export interface FaultyProxy {
  /** `target` with the proxy's host and port. */
  readonly url: string;
  /** Connections accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

/**
 * Starts a proxy on 127.0.0.1, port 0, relaying to the host and port of `target` (a URL), whose
 * first connection fails as `fault` says.
 */
export async function startFaultyProxy(target: string, fault: FirstConnectionFault): Promise<FaultyProxy> {
  const upstreamUrl = new URL(target);
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    if (accepted === 1 && fault === "answer-503") {
      answer503(client);
      return;
    }
    const upstream = connect(Number(upstreamUrl.port), upstreamUrl.hostname);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    client.pipe(upstream);
    if (accepted === 1 && fault === "lose-answer") {
      // The hub has done its work once it answers: the client never learns of it.
      upstream.once("data", () => {
        client.destroy();
        upstream.destroy();
      });
    } else {
      upstream.pipe(client);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const url = new URL(target);
  url.host = `127.0.0.1:${port}`;
  return {
    url: url.href,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads one whole request (head and Content-Length body), then answers 503 and closes. */
function answer503(client: Socket): void {
  let received = Buffer.alloc(0);
  client.on("data", (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    const headEnd = received.indexOf("\r\n\r\n");
    if (headEnd === -1) return;
    const length = Number(
      /\r\ncontent-length:\s*(\d+)/i.exec(received.subarray(0, headEnd).toString())?.[1] ?? 0,
    );
    if (received.length < headEnd + 4 + length) return;
    const body = "no backend ready";
    client.end(
      `HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n` +
        `Retry-After: 0\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
