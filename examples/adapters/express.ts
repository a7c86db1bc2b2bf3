/**
 * A books API and its Mercure hub in one Express app: the hub's middleware comes first (before any
 * body parser or compression), the discovery link is added to the API's responses.
 */
import { once } from "node:events";
import express from "express";
import { discoveryLink, mercure } from "../../src/adapters/express.ts";

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
  const hub = await mercure({
    hubUrl,
    anonymous: true,
    issuers: [
      { issuer: "https://books.example.com", publisher: { key: secret }, subscriber: { key: secret } },
    ],
  });
  const app = express();
  app.use(hub);
  app.use(express.json());
  app.use("/books", discoveryLink({ hubUrl: hub.hubUrl, topic: (url) => url }));
  app.get("/books/1", (_req, res) => {
    res.json({ title: "Les Misérables" });
  });
  const server = app.listen(port, "127.0.0.1");
  await once(server, "listening");
  const { port: bound } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${bound}`, hubUrl: hub.hubUrl, close: () => hub.shutdown(server) };
}
