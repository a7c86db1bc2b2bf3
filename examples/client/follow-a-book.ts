/**
 * The client SDK end to end, in Node: an API answers a book with a `Link` to its hub; the client
 * discovers the hub and the book's topic from that answer, subscribes, and prints the update the
 * API then publishes about the book. Run it: `node scripts/node24.js examples/client/follow-a-book.ts`.
 */
import { mintToken } from "../../src/auth/mint.ts";
import { discoverFrom, publish, subscribe } from "../../src/client/index.ts";
import { startBooksApp } from "../adapters/node-http.ts";

const secret = "a-secret-of-at-least-32-bytes-for-hs256!";
const app = await startBooksApp({ port: 0, hubUrl: "http://localhost:3000/.well-known/mercure", secret });
const hubUrl = app.url + new URL(app.hubUrl).pathname; // where this run's hub listens

// 1. Discovery: the book's answer says where its updates are.
const found = await discoverFrom(`${app.url}/books/1`);
if (found?.topic === undefined) throw new Error("the book announced no hub and topic");
console.log(`hub: ${new URL(found.hub).pathname}, topic: ${found.topic}`);

// 2. Subscribe to the book: typed data, parsed from JSON.
const book = subscribe<{ title: string; stock: number }>(hubUrl, { match: found.topic });

// 3. Once subscribed, the API publishes a change (with a token that may publish the topic).
book.on("open", async () => {
  const token = await mintToken({
    issuer: "https://books.example.com",
    audience: app.hubUrl,
    key: secret,
    publish: [found.topic!],
  });
  const { id } = await publish(
    hubUrl,
    { topic: found.topic!, data: { title: "Les Misérables", stock: 3 } },
    { token },
  );
  console.log(`published: ${id.startsWith("urn:uuid:") ? "a urn:uuid id" : id}`);
});

// 4. The update arrives; leaving the loop closes the subscription.
for await (const { data } of book) {
  console.log(`received: ${data.title}, ${data.stock} in stock`);
  break;
}
await app.close();
