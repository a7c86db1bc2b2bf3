/**
 * The hub's debug page (ui/) served as the hub serves it: under `{hubPath}/ui/`, with the page's
 * strict CSP, and the hub itself on the same origin (every other request goes through to a real
 * hub). Its `ui/status` and `ui/dev-token` answers are made here from the test hub: status needs a
 * Bearer token, as outside --dev.
 */
import { readFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestHub, TokenGrants } from "./test-hub.ts";

const UI_DIRECTORY = fileURLToPath(new URL("../../ui/", import.meta.url));
const HUB_PATH = "/.well-known/mercure";

/** The page's Content-Security-Policy: nothing inline, nothing from another origin. */
export const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

export interface UiServer {
  /** `http://localhost:<port>`: the page's and the hub's origin as the browser sees them. */
  readonly origin: string;
  /** The page's URL. */
  readonly pageUrl: string;
  /** The hub's URL on that origin. */
  readonly hubUrl: string;
  close(): Promise<void>;
}

/**
 * Serves ui/ and `hub` on one origin; `deliveries` is the running total `ui/status` reports, and
 * `dev: false` answers `ui/dev-token` with 404, as a hub run without --dev.
 */
export async function serveUi(
  hub: TestHub,
  facts: { deliveries: () => number; dev?: boolean },
): Promise<UiServer> {
  const upstream = new URL(hub.hubUrl);
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === `${HUB_PATH}/ui/status`) {
      if (!(req.headers.authorization ?? "").startsWith("Bearer ")) {
        res.writeHead(401, { "Content-Type": "application/problem+json" }).end('{"code":"token_missing"}');
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(
        JSON.stringify({
          version: "0.1.0",
          dialects: ["draft"],
          transport: "memory",
          historySize: 100,
          subscribers: hub.hub.connectionCount,
          deliveries: facts.deliveries(),
          subscriptions: true,
          hubUrl: hub.hubUrl,
        }),
      );
      return;
    }
    if (path === `${HUB_PATH}/ui/dev-token` && req.method === "POST" && facts.dev !== false) {
      let body = "";
      for await (const chunk of req) body += chunk;
      const grants = JSON.parse(body) as TokenGrants;
      res
        .writeHead(200, { "Content-Type": "application/json" })
        .end(JSON.stringify({ token: await hub.token(grants) }));
      return;
    }
    if (path.startsWith(`${HUB_PATH}/ui/`)) {
      const name = normalize(path.slice(`${HUB_PATH}/ui/`.length) || "index.html");
      if (name.startsWith("..")) {
        res.writeHead(404).end();
        return;
      }
      try {
        const body = await readFile(join(UI_DIRECTORY, name));
        res.writeHead(200, {
          "Content-Type": CONTENT_TYPES[extname(name)] ?? "application/octet-stream",
          "Content-Security-Policy": UI_CSP,
          "Cache-Control": "no-store",
        });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
      return;
    }
    if (!path.startsWith(HUB_PATH)) {
      res.writeHead(404).end();
      return;
    }
    // The hub, on the page's origin: the request and the answer, streamed both ways.
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    forwarded.on("error", () => res.destroy());
    res.on("close", () => forwarded.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://localhost:${port}`;
  return {
    origin,
    pageUrl: `${origin}${HUB_PATH}/ui/`,
    hubUrl: `${origin}${HUB_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
