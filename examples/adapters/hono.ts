/**
 * A books API and its Mercure hub in one Hono app on Node: the hub's middleware hands its requests
 * to the hub on the raw Node request and response, the discovery link is added to the API's responses.
 */
import { once } from "node:events";
import type { Server } from "node:http";
import { type HttpBindings, serve } from "@hono/node-server";
import { Hono } from "hono";
import { createHubHandler, discoveryLink, mercure } from "../../src/adapters/hono.ts";

export interface BooksAppOptions {
  /** The port to listen on (0: any free one). */
  readonly port: number;
  /** The hub's public URL: its path is where the hub answers. */
  readonly hubUrl: string;
  /** The HMAC secret the application's tokens are signed with (at least 32 bytes). */
  readonly secret: string;
}

export interface BooksApp {
  /** Where the server listens, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  readonly hubUrl: string;
  /** Stops listening, ends the hub's streams and waits for the connections to close. */
  close(): Promise<void>;
}

export async function startBooksApp({ port, hubUrl, secret }: BooksAppOptions): Promise<BooksApp> {
  const hub = await createHubHandler({
    hubUrl,
    anonymous: true,
    issuers: [
      { issuer: "https://books.example.com", publisher: { key: secret }, subscriber: { key: secret } },
    ],
  });
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.use(mercure(hub));
  app.use("/books/*", discoveryLink({ hubUrl: hub.hubUrl, topic: (url) => url }));
  app.get("/books/1", (c) => c.json({ title: "Les Misérables" }));
  const server = serve({ fetch: app.fetch, port, hostname: "127.0.0.1" }) as Server;
  await once(server, "listening");
  const { port: bound } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${bound}`, hubUrl: hub.hubUrl, close: () => hub.shutdown(server) };
}
