/**
 * "Who is viewing this document?": the server side of the presence example.
 *
 * One process runs two servers:
 *
 * - a Quicksilver hub with active subscriptions on (`subscriptions: true`): every subscription it
 *   accepts is announced as a private `mercure` event and listed by its subscription API;
 * - the application: it serves the page (`index.html`, `presence.js`) and `POST /login`, which
 *   puts a subscriber token in an HttpOnly cookie.
 *
 * Nothing here publishes: a viewer's presence *is* their subscription to the document's topic.
 *
 *     node scripts/node24.js examples/presence/server.ts
 *     # then open http://localhost:8080/?doc=roadmap in two browsers (or a private window)
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHubServer, mintToken } from "../../src/index.ts";
import { subscriptionsPath } from "../../src/protocol/subscription-resource.ts";

export interface PresenceExampleOptions {
  /** The page's port (0 picks a free one). */
  readonly port?: number;
  /** The hub's port (0 picks a free one). */
  readonly hubPort?: number;
}

export interface PresenceExample {
  /** `http://localhost:<port>`: open `${pageUrl}/?doc=<name>`. */
  readonly pageUrl: string;
  readonly hubUrl: string;
  close(): Promise<void>;
}

/**
 * The cookie the hub reads the token from. Over HTTPS, keep the hub's default,
 * `__Secure-mercure_access_token`, and add `Secure` to the cookie: browsers refuse a `__Secure-`
 * cookie over plain http, so this local example needs a name without the prefix.
 */
const COOKIE = "mercure_access_token";
const TOKEN_TTL_SECONDS = 3600;
const NAME = /^[\p{L}\p{N} .'-]{1,40}$/u;
const DOCUMENT = /^[a-z0-9-]{1,64}$/;

const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/presence.js": { file: "presence.js", type: "text/javascript; charset=utf-8" },
};

export async function startPresenceExample(options: PresenceExampleOptions = {}): Promise<PresenceExample> {
  // The page server listens first: its origin is what the hub must allow (CORS) and trust (iss).
  let login: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async (_req, res) => {
    res.writeHead(503).end();
  };
  const pages = createServer((req, res) => {
    route(req, res, login).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const port = await listen(pages, options.port ?? 8080);
  // Page and hub are both on `localhost`, on different ports: different origins (hence CORS) but
  // the same site, so a SameSite=Strict cookie set by the page's server reaches the hub. Cookies
  // ignore ports: the hub's host is the page's host.
  const pageUrl = `http://localhost:${port}`;

  // The application issues the tokens itself, signed with a secret it shares with the hub. It
  // never publishes, so the one key verifies subscribers (a publisher would get its own key).
  const secret = randomBytes(32).toString("base64url");
  const hub = await createHubServer({
    host: "localhost",
    port: options.hubPort ?? 3000,
    subscriptions: true, // announce subscriptions and serve the subscription API
    issuers: [{ issuer: pageUrl, subscriber: { key: secret } }],
    corsOrigins: [pageUrl], // the page reads the hub's answers (and its Link header)
    cookieName: COOKIE,
    history: { transport: "memory" }, // presence needs no history across restarts
  }).catch(async (error: unknown) => {
    await new Promise((resolve) => pages.close(resolve));
    throw error;
  });
  const hubPath = new URL(hub.hubUrl).pathname;

  // A real application would log its users in properly: this one believes the name it is given.
  login = async (req, res) => {
    const form = new URLSearchParams(await readBody(req));
    const name = (form.get("name") ?? "").trim();
    const doc = form.get("doc") ?? "";
    if (!NAME.test(name) || !DOCUMENT.test(doc)) {
      res
        .writeHead(400, { "Content-Type": "text/plain; charset=utf-8" })
        .end("a name and a document, please");
      return;
    }
    const topic = `${pageUrl}/documents/${doc}`;
    // The document's viewers: the subscriptions whose matcher is exactly `match=<topic>`, as a hub
    // path with the topic percent-encoded once (/.well-known/mercure/subscriptions/exact/http%3A%2F%2F…).
    const viewers = subscriptionsPath(hubPath, "exact", topic);
    // One viewer's subscription: its event topic and its URL in the API. `:subscriber` stands for
    // exactly one path segment, the hub-generated id of one connection (percent-encoded, so no `/`).
    const viewerEvents = `${viewers}/:subscriber`;
    const token = await mintToken({
      issuer: pageUrl,
      audience: hub.resourceIdentifier,
      key: secret,
      // Exact grants: the document itself (subscribing to it is being present), and the list of
      // its viewers (GET …/subscriptions/exact/{topic}), which the hub authorizes as a topic.
      subscribe: [topic, viewers],
      // A URL pattern for the viewers' arrivals and departures, one topic per viewer. This is no
      // wider than the document: not other documents' viewers, not the whole subscription list.
      subscribeUrlPattern: [viewerEvents],
      // Shown to every other viewer of this document, in the list and in the events: the name,
      // nothing else (no e-mail, no user id). Whatever goes here is broadcast to them.
      payload: { name },
      ttlSeconds: TOKEN_TTL_SECONDS,
    });
    // HttpOnly: the page's scripts never see the token; the browser attaches it to the hub's
    // requests (EventSource and fetch with credentials). Path: only requests to the hub carry it.
    const cookie = `${COOKIE}=${token}; Path=${hubPath}; HttpOnly; SameSite=Strict`;
    res.writeHead(200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      "Set-Cookie": `${cookie}; Max-Age=${TOKEN_TTL_SECONDS}`,
    });
    res.end(JSON.stringify({ name, hub: hub.hubUrl, topic, viewers, viewerEvents }));
  };

  return {
    pageUrl,
    hubUrl: hub.hubUrl,
    async close() {
      await hub.close();
      await new Promise<void>((resolve) => {
        pages.close(() => resolve());
        pages.closeAllConnections();
      });
    },
  };
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  login: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
): Promise<void> {
  const { pathname } = new URL(req.url ?? "/", "http://localhost");
  if (pathname === "/login" && req.method === "POST") return login(req, res);
  const asset = STATIC[pathname];
  if (asset === undefined || (req.method !== "GET" && req.method !== "HEAD")) {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("not found");
    return;
  }
  const body = await readFile(new URL(asset.file, import.meta.url));
  res.writeHead(200, { "Content-Type": asset.type, "Cache-Control": "no-cache" }).end(body);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = "";
  req.setEncoding("utf8");
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 4096) throw new Error("body too large");
  }
  return body;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "localhost", () => resolve((server.address() as AddressInfo).port));
  });
}

if (import.meta.main) {
  const example = await startPresenceExample();
  console.log(
    `Presence example: open ${example.pageUrl}/?doc=roadmap in two browsers (hub: ${example.hubUrl})`,
  );
  const stop = () => void example.close().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
