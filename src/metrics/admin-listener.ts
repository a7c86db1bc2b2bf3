import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { HttpResponse } from "../http/exchange.ts";
import { type HealthProbe, healthRoute, isHealthPath } from "../http/health-route.ts";
import { METRICS_PATH } from "../http/router.ts";

/**
 * The admin listener (`--metrics-listen`): a `node:http` server of its own, off the public port,
 * serving `/metrics` and the health checks and nothing else. Bind it where only the scraper and
 * the orchestrator reach (loopback, a private network). It is small and answers at once: no
 * socket limits, no tokens, no CORS.
 */
export interface AdminListener {
  readonly server: Server;
  /** `http://host:port`, the port resolved when 0 was asked. */
  readonly origin: string;
  close(): Promise<void>;
}

export async function startAdminListener(
  address: { readonly host: string; readonly port: number },
  serve: { readonly metrics: (res: HttpResponse) => void; readonly health: HealthProbe },
): Promise<AdminListener> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] as string;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
    } else if (path === METRICS_PATH) {
      serve.metrics(res);
    } else if (isHealthPath(path)) {
      healthRoute(path, res, serve.health);
    } else {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: address.host, port: address.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    server,
    origin: `http://${host}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapes keep their connections open: they have nothing left to wait for.
        server.closeAllConnections();
      }),
  };
}
