/**
 * A books API and its Mercure hub in one Fastify app: the plugin routes the hub's paths to the
 * hub, a hook adds the discovery link to the API's responses, and `app.close()` ends the streams.
 */
import Fastify from "fastify";
import { discoveryLinkHook, mercurePlugin } from "../../src/adapters/fastify.ts";

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
  const app = Fastify();
  await app.register(mercurePlugin, {
    hubUrl,
    anonymous: true,
    issuers: [
      { issuer: "https://books.example.com", publisher: { key: secret }, subscriber: { key: secret } },
    ],
  });
  await app.register(async (books) => {
    books.addHook("onSend", discoveryLinkHook({ hubUrl: app.mercure.hubUrl, topic: (url) => url }));
    books.get("/books/1", async () => ({ title: "Les Misérables" }));
  });
  const url = await app.listen({ port, host: "127.0.0.1" });
  return { url, hubUrl: app.mercure.hubUrl, close: () => app.close() };
}
