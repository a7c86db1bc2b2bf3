/**
 * The floor: the simplest SSE pub/sub server one would write with node:http, to show what the
 * runtime alone costs. Deliberately naive: no auth, no history, no batching (one write per
 * subscriber per event).
 *
 *   node scripts/node24.js bench/harness/naive-hub.ts <port, 0 for any> [heartbeat seconds, 0 for none]
 *
 * Prints `listening <port>` once it accepts connections.
 */
import { createServer, type ServerResponse } from "node:http";

const subscribers = new Map<string, Set<ServerResponse>>();

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const topic = url.searchParams.get("topic") ?? "";
  if (req.method === "GET" && url.pathname === "/sub") {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    // Send the head now so the subscriber knows it is subscribed before the first event.
    res.flushHeaders();
    let set = subscribers.get(topic);
    if (set === undefined) {
      set = new Set();
      subscribers.set(topic, set);
    }
    set.add(res);
    res.on("close", () => set.delete(res));
  } else if (req.method === "POST" && url.pathname === "/pub") {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      for (const subscriber of subscribers.get(topic) ?? []) subscriber.write(`data: ${body}\n\n`);
      res.end();
    });
  } else {
    res.writeHead(404).end();
  }
});

// Heartbeat: a comment to every subscriber, as SSE servers send to keep proxies from timing out.
const heartbeatSeconds = Number(process.argv[3] ?? 0);
if (heartbeatSeconds > 0) {
  setInterval(() => {
    for (const set of subscribers.values()) for (const subscriber of set) subscriber.write(":\n\n");
  }, heartbeatSeconds * 1000);
}

server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  console.log(`listening ${port}`);
});
