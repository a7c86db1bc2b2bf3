import assert from "node:assert/strict";
import { once } from "node:events";
import { get, type IncomingHttpHeaders } from "node:http";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { startTestHub, type TestHub } from "./helpers/test-hub.ts";

// Bare TCP sockets that send nothing must not take every descriptor of the hub: raw sockets are
// bounded in total and per client address, refused with an answer (never a reset), and /healthz
// keeps answering at the limit.

/** Another loopback address, so one test can be two clients. */
const OTHER_CLIENT = "127.0.0.2";

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A socket the hub has accepted (its 'connection' was emitted), holding nothing but the socket. */
interface IdleSocket {
  readonly client: Socket;
  /** The hub's side of it. */
  readonly accepted: Socket;
}

/** Every client socket a test opened, destroyed when it ends, passed or failed. */
const opened: Socket[] = [];

async function openIdle(hub: TestHub, localAddress = "127.0.0.1"): Promise<IdleSocket> {
  const accepted = once(hub.server, "connection") as Promise<[Socket]>;
  const client = connect({ host: "127.0.0.1", port: portOf(hub), localAddress });
  client.on("error", () => {});
  opened.push(client);
  const [socket] = await accepted;
  return { client, accepted: socket };
}

/** Closes the sockets and resolves once the hub has seen every one of them close. */
async function closeAll(sockets: readonly IdleSocket[]): Promise<void> {
  const closed = sockets.map((socket) =>
    socket.accepted.destroyed ? Promise.resolve() : once(socket.accepted, "close"),
  );
  for (const socket of sockets) socket.client.destroy();
  await Promise.all(closed);
}

function request(hub: TestHub, path: string, localAddress = "127.0.0.1"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = get(
      {
        host: "127.0.0.1",
        port: portOf(hub),
        path,
        localAddress,
        agent: false,
        headers: { Connection: "close" },
      },
      (res) => {
        if (res.headers["content-type"] === "text/event-stream") {
          // A stream was opened (no limit applied): its body never ends.
          res.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: "" });
          return;
        }
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
  });
}

function portOf(hub: TestHub): number {
  return (hub.server.address() as { port: number }).port;
}

async function withHub(flags: Record<string, string>, body: (hub: TestHub) => Promise<void>): Promise<void> {
  const hub = await startTestHub({ anonymous: true, ...flags });
  try {
    await body(hub);
  } finally {
    for (const socket of opened.splice(0)) socket.destroy();
    await hub.close();
  }
}

function assertRefusal(answer: Answer, status: number, code: string): void {
  assert.equal(answer.status, status, answer.body);
  assert.equal(answer.headers["content-type"], "application/problem+json");
  assert.equal(JSON.parse(answer.body).code, code);
  assert.match(answer.headers["retry-after"] ?? "", /^\d+$/);
  assert.equal(answer.headers.connection, "close");
}

describe("raw connection limits", { timeout: 30_000 }, () => {
  it("answers 429 too_many_connections past max-sockets-per-client, and serves other clients", async () => {
    await withHub({ "max-sockets": "40", "max-sockets-per-client": "5" }, async (hub) => {
      const idle = [];
      for (let i = 0; i < 5; i++) idle.push(await openIdle(hub));
      assertRefusal(await request(hub, "/.well-known/mercure?match=*"), 429, "too_many_connections");
      assertRefusal(await request(hub, "/nothing-here"), 429, "too_many_connections");
      const other = await request(hub, "/healthz", OTHER_CLIENT);
      assert.equal(other.status, 200, other.body);
      await closeAll(idle);
    });
  });

  it("answers 503 hub_at_capacity past max-sockets", async () => {
    await withHub({ "max-sockets": "6", "max-sockets-per-client": "4" }, async (hub) => {
      const idle = [];
      for (let i = 0; i < 3; i++) idle.push(await openIdle(hub));
      for (let i = 0; i < 3; i++) idle.push(await openIdle(hub, OTHER_CLIENT));
      assertRefusal(await request(hub, "/.well-known/mercure?match=*", "127.0.0.3"), 503, "hub_at_capacity");
      assertRefusal(await request(hub, "/.well-known/mercure?match=*"), 503, "hub_at_capacity");
      await closeAll(idle);
    });
  });

  it("still answers the health checks (/healthz, /livez, /readyz) at either limit", async () => {
    await withHub({ "max-sockets": "6", "max-sockets-per-client": "3" }, async (hub) => {
      const idle = [];
      for (let i = 0; i < 3; i++) idle.push(await openIdle(hub));
      // At the limit: anything else is refused, the health check is answered.
      assertRefusal(await request(hub, "/nothing-here"), 429, "too_many_connections");
      const overClient = await request(hub, "/healthz");
      assert.equal(overClient.status, 200, overClient.body);
      assert.equal(JSON.parse(overClient.body).status, "ok");
      for (let i = 0; i < 3; i++) idle.push(await openIdle(hub, OTHER_CLIENT));
      assertRefusal(await request(hub, "/nothing-here", "127.0.0.3"), 503, "hub_at_capacity");
      const overTotal = await request(hub, "/healthz", "127.0.0.3");
      assert.equal(overTotal.status, 200, overTotal.body);
      for (const path of ["/livez", "/readyz"]) {
        const answer = await request(hub, path, "127.0.0.3");
        assert.equal(answer.status, 200, answer.body);
        assert.equal(JSON.parse(answer.body).status, "ok");
      }
      await closeAll(idle);
    });
  });

  it("gives every slot back once the sockets close", async () => {
    await withHub({ "max-sockets": "8", "max-sockets-per-client": "4" }, async (hub) => {
      const everySocket: Socket[] = [];
      hub.server.on("connection", (socket: Socket) => everySocket.push(socket));
      for (let round = 0; round < 3; round++) {
        const idle = [];
        for (let i = 0; i < 4; i++) idle.push(await openIdle(hub));
        // Refused sockets and sockets that sent a request are counted and given back too.
        assertRefusal(await request(hub, "/.well-known/mercure?match=*"), 429, "too_many_connections");
        const answered = await request(hub, "/healthz", OTHER_CLIENT);
        assert.equal(answered.status, 200);
        await closeAll(idle);
        const fresh = await request(hub, "/healthz");
        assert.equal(fresh.status, 200, `round ${round}: the client's slots were given back`);
      }
      // The requests' sockets close by `Connection: close`: wait for the hub to see every close.
      await Promise.all(everySocket.map((socket) => (socket.destroyed ? undefined : once(socket, "close"))));
      assert.equal(hub.connections.open, 0);
      assert.equal(hub.connections.openFrom("127.0.0.1"), 0);
      assert.equal(hub.connections.openFrom(OTHER_CLIENT), 0);
    });
  });

  it("closes a socket that sends no request within headers-timeout", { timeout: 20_000 }, async (t) => {
    await withHub({ "headers-timeout": "300ms" }, async (hub) => {
      // Both waits end with the test (its signal): a wait that never ends would otherwise keep
      // the hub, and this file, running after the test has timed out.
      const accepted = once(hub.server, "connection", { signal: t.signal });
      const client = connect({ host: "127.0.0.1", port: portOf(hub) });
      client.on("error", () => {});
      // Read whatever comes: Node's own headers timeout may answer 408 before closing, and a
      // socket that leaves those bytes unread never sees the end of the stream, nor closes.
      client.resume();
      opened.push(client);
      const ended = once(client, "close", { signal: t.signal });
      await accepted;
      await ended;
      assert.equal(client.bytesWritten, 0);
    });
  });
});
