/**
 * A books API and its Mercure hub in one `node:http` server: the hub answers its own paths, the
 * application every other one, and the API's responses say where the hub is (discovery).
 */
import { once } from "node:events";
import { createServer } from "node:http";
import { createHubHandler, discoveryLinks } from "../../src/adapters/node-http.ts";

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
  const server = createServer((req, res) => {
    if (hub.handle(req, res)) return;
    if (req.method === "GET" && req.url === "/books/1") {
      const links = discoveryLinks({ hubUrl: hub.hubUrl, topic: (url) => url }, req.url);
      res.writeHead(200, { "Content-Type": "application/json", Link: links });
      res.end(JSON.stringify({ title: "Les Misérables" }));
      return;
    }
    res.writeHead(404).end();
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const { port: bound } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${bound}`, hubUrl: hub.hubUrl, close: () => hub.shutdown(server) };
}
