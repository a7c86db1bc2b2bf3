/**
 * The framework adapters, each through the example docs/adapters.md shows (examples/adapters): a
 * books API and its hub in one app, on a real socket. For every framework: a subscriber receives
 * an update published through the app's port, private updates reach only a subscriber with a
 * token, the app's own routes still answer and carry the discovery link, and closing the app
 * ends the streams.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import express, { type Express } from "express";
import Fastify from "fastify";
import * as expressExample from "../examples/adapters/express.ts";
import * as fastifyExample from "../examples/adapters/fastify.ts";
import * as honoExample from "../examples/adapters/hono.ts";
import * as nodeHttpExample from "../examples/adapters/node-http.ts";
import { discoveryLink, type MercureMiddleware, mercure } from "../src/adapters/express.ts";
import { discoveryLinkHook, mercurePlugin } from "../src/adapters/fastify.ts";
import { createHubHandler, discoveryLinks } from "../src/adapters/node-http.ts";
import { mintToken } from "../src/index.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";

/** The hub's public URL, as a reverse proxy in front of the app would expose it. */
const HUB_URL = "https://books.example.com/.well-known/mercure";
const TOPIC = "https://books.example.com/books/1";
const ISSUER = "https://books.example.com";
const SECRET = "a-secret-of-at-least-32-bytes-for-hs256!";

interface BooksApp {
  readonly url: string;
  readonly hubUrl: string;
  close(): Promise<void>;
}

const EXAMPLES: Record<
  string,
  (options: { port: number; hubUrl: string; secret: string }) => Promise<BooksApp>
> = {
  "node:http": nodeHttpExample.startBooksApp,
  Express: expressExample.startBooksApp,
  Fastify: fastifyExample.startBooksApp,
  "Hono on Node": honoExample.startBooksApp,
};

const token = (claims: { publish?: string[]; subscribe?: string[] }) =>
  mintToken({ issuer: ISSUER, audience: HUB_URL, key: SECRET, ...claims });

/** The app's own address for the hub's path: the hub URL's host is the public one. */
const localHubUrl = (app: BooksApp) => `${app.url}${new URL(app.hubUrl).pathname}`;

async function subscribe(app: BooksApp, headers: Record<string, string> = {}): Promise<Stream> {
  const stream = await openStream(subscribeUrl(localHubUrl(app), [["match", TOPIC]]), { headers });
  assert.equal(stream.status, 200, stream.status === 200 ? "" : await stream.body);
  assert.match(String(stream.headers["content-type"]), /^text\/event-stream/);
  return stream;
}

async function publish(app: BooksApp, fields: Record<string, string>, authorization?: string) {
  return fetch(localHubUrl(app), {
    method: "POST",
    headers: authorization === undefined ? {} : { Authorization: `Bearer ${authorization}` },
    body: new URLSearchParams({ topic: TOPIC, ...fields }),
  });
}

for (const [framework, start] of Object.entries(EXAMPLES)) {
  describe(`the hub in a ${framework} app`, { timeout: 60_000 }, () => {
    let app: BooksApp;
    let closed = false;

    before(async () => {
      app = await start({ port: 0, hubUrl: HUB_URL, secret: SECRET });
    });
    after(async () => {
      if (!closed) await app?.close();
    });

    it("answers the app's own route, with the discovery links", async () => {
      const response = await fetch(`${app.url}/books/1`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { title: "Les Misérables" });
      assert.equal(response.headers.get("link"), `<${HUB_URL}>; rel="mercure", <${TOPIC}>; rel="self"`);
    });

    it("leaves the paths that are not the hub's to the app", async () => {
      const response = await fetch(`${app.url}/books/2`);
      assert.equal(response.status, 404);
      assert.doesNotMatch(response.headers.get("content-type") ?? "", /problem\+json/);
    });

    it("delivers an update published through the app's port to a subscriber", async () => {
      const stream = await subscribe(app);
      const response = await publish(app, { data: "first edition" }, await token({ publish: [TOPIC] }));
      assert.equal(response.status, 200, await response.text());
      const [event] = await stream.waitForEvents(1);
      assert.equal(event!.data, "first edition");
      stream.close();
    });

    it("flushes the stream's head and opening comment before any update", async () => {
      const stream = await subscribe(app);
      await stream.waitForComments(1);
      assert.deepEqual(stream.events, []);
      stream.close();
    });

    it("subscribes with QUERY, its matchers in a form body the framework leaves unread", async () => {
      const stream = await openStream(localHubUrl(app), {
        method: "QUERY",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ match: TOPIC }).toString(),
      });
      assert.equal(stream.status, 200, stream.status === 200 ? "" : await stream.body);
      const response = await publish(app, { data: "by query" }, await token({ publish: [TOPIC] }));
      assert.equal(response.status, 200);
      assert.equal((await stream.waitForEvents(1))[0]!.data, "by query");
      stream.close();
    });

    it("serves the protected resource metadata, naming the hub", async () => {
      const response = await fetch(`${app.url}/.well-known/oauth-protected-resource/.well-known/mercure`);
      assert.equal(response.status, 200);
      assert.equal(((await response.json()) as { resource: string }).resource, HUB_URL);
    });

    it("refuses a publish without a token", async () => {
      const response = await publish(app, { data: "forged" });
      assert.equal(response.status, 401);
    });

    it("delivers a private update only to a subscriber whose token allows it", async () => {
      const anonymous = await subscribe(app);
      const authorized = await subscribe(app, {
        Authorization: `Bearer ${await token({ subscribe: [TOPIC] })}`,
      });
      const publisher = await token({ publish: [TOPIC] });
      assert.equal((await publish(app, { data: "secret", private: "on" }, publisher)).status, 200);
      assert.equal((await publish(app, { data: "public" }, publisher)).status, 200);
      // Delivered in order: the public update reaching the anonymous subscriber first proves the
      // private one never came to it.
      assert.deepEqual(
        (await authorized.waitForEvents(2)).map((event) => event.data),
        ["secret", "public"],
      );
      assert.deepEqual(
        (await anonymous.waitForEvents(1)).map((event) => event.data),
        ["public"],
      );
      anonymous.close();
      authorized.close();
    });

    it("ends the streams when the app closes", async () => {
      const stream = await subscribe(app);
      await stream.waitForComments(1);
      closed = true;
      await app.close();
      await stream.ended;
      await assert.rejects(fetch(`${app.url}/books/1`));
    });
  });
}

describe("docs/adapters.md", () => {
  const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

  it("shows each example the tests run, as an application imports it", () => {
    const doc = read("docs/adapters.md");
    for (const name of ["node-http", "express", "fastify", "hono"]) {
      const example = read(`examples/adapters/${name}.ts`).replace(
        /"\.\.\/\.\.\/src\/adapters\/([\w-]+)\.ts"/g,
        '"quicksilver/$1"',
      );
      assert.ok(
        !example.includes("/src/"),
        `examples/adapters/${name}.ts imports from the package's entries only`,
      );
      assert.ok(
        doc.includes(`\`\`\`ts\n${example}\`\`\`\n`),
        `docs/adapters.md shows examples/adapters/${name}.ts`,
      );
    }
  });

  it("is linked from the README", () => {
    assert.match(read("README.md"), /\(docs\/adapters\.md\)/);
  });
});

describe("the Express middleware", { timeout: 30_000 }, () => {
  const issuers = [{ issuer: ISSUER, publisher: { key: SECRET }, subscriber: { key: SECRET } }];

  /** An Express app on a real socket, set up by `mount`; closed by the test's end. */
  async function withExpressApp(
    mount: (app: Express) => Promise<MercureMiddleware>,
    body: (url: string) => Promise<void>,
  ): Promise<void> {
    const app = express();
    const hub = await mount(app);
    const server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      await body(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      await hub.shutdown(server);
    }
  }

  it("serves a hub mounted under a path, and passes the app's other routes under it on intact", async () => {
    await withExpressApp(
      async (app) => {
        const hub = await mercure({ hubUrl: "https://books.example.com/api/hub", issuers, anonymous: true });
        app.use("/api", hub);
        app.get("/api/books/:id", (req, res) => {
          res.json({ id: req.params.id, url: req.url });
        });
        return hub;
      },
      async (url) => {
        const stream = await openStream(subscribeUrl(`${url}/api/hub`, [["match", TOPIC]]));
        assert.equal(stream.status, 200);
        stream.close();
        const response = await fetch(`${url}/api/books/7`);
        assert.deepEqual(await response.json(), { id: "7", url: "/api/books/7" });
      },
    );
  });

  it("refuses a request whose body a parser mounted before it read", async () => {
    await withExpressApp(
      async (app) => {
        const hub = await mercure({ hubUrl: HUB_URL, issuers });
        app.set("env", "test"); // Express's error handler logs the error elsewhere
        app.use(express.urlencoded());
        app.use(hub);
        return hub;
      },
      async (url) => {
        const response = await fetch(`${url}/.well-known/mercure`, {
          method: "POST",
          headers: { Authorization: `Bearer ${await token({ publish: [TOPIC] })}` },
          body: new URLSearchParams({ topic: TOPIC, data: "x" }),
        });
        assert.equal(response.status, 500);
        assert.match(await response.text(), /mount it before body parsers/);
      },
    );
  });

  it("keeps the Link headers a route sets beside the discovery links", async () => {
    await withExpressApp(
      async (app) => {
        const hub = await mercure({ hubUrl: HUB_URL, issuers });
        app.use(hub);
        app.use(discoveryLink({ hubUrl: hub.hubUrl }));
        app.get("/books", (_req, res) => {
          res.append("Link", '</books?page=2>; rel="next"').json([]);
        });
        return hub;
      },
      async (url) => {
        const response = await fetch(`${url}/books`);
        assert.equal(
          response.headers.get("link"),
          `<${HUB_URL}>; rel="mercure", </books?page=2>; rel="next"`,
        );
      },
    );
  });
});

describe("the Fastify plugin", { timeout: 30_000 }, () => {
  it("decorates the instance with the hub, and keeps a route's own Link beside the discovery links", async () => {
    const app = Fastify();
    await app.register(mercurePlugin, {
      hubUrl: HUB_URL,
      issuers: [{ issuer: ISSUER, publisher: { key: SECRET } }],
    });
    app.addHook("onSend", discoveryLinkHook({ hubUrl: app.mercure.hubUrl }));
    app.get("/books", async (_request, reply) =>
      reply.header("link", '</books?page=2>; rel="next"').send([]),
    );
    try {
      const response = await app.inject({ method: "GET", url: "/books" });
      assert.deepEqual(response.headers.link, ['</books?page=2>; rel="next"', `<${HUB_URL}>; rel="mercure"`]);
      assert.equal(app.mercure.resourceIdentifier, HUB_URL);
    } finally {
      await app.close();
    }
    assert.equal(app.mercure.hub.closing, true);
  });
});

describe("discoveryLinks", () => {
  it("escapes what would end a link or the header, and resolves a relative topic against the hub URL", () => {
    assert.deepEqual(discoveryLinks({ hubUrl: HUB_URL, topic: () => "/books/a b<c>\r\nX: y" }, "/"), [
      `<${HUB_URL}>; rel="mercure"`,
      '<https://books.example.com/books/a%20b%3Cc%3EX:%20y>; rel="self"',
    ]);
  });

  it("refuses a hub URL that is not absolute", () => {
    assert.throws(
      () => discoveryLinks({ hubUrl: "/.well-known/mercure" }, "/"),
      (error: Error & { code?: string }) => error.code === "usage_invalid" && /hubUrl/.test(error.message),
    );
  });
});

describe("createHubHandler", () => {
  it("refuses a hub URL that is not an absolute http(s) URL", async () => {
    for (const hubUrl of ["/.well-known/mercure", "ftp://example.com/hub", "https://example.com/hub?x=1"]) {
      await assert.rejects(
        createHubHandler({ hubUrl, issuers: [{ issuer: ISSUER, publisher: { key: SECRET } }] }),
        (error: Error & { code?: string }) => error.code === "usage_invalid" && /hubUrl/.test(error.message),
        hubUrl,
      );
    }
  });

  it("refuses a hub URL with credentials, without repeating them", async () => {
    await assert.rejects(
      createHubHandler({
        hubUrl: "https://user:s3cret@example.com/hub",
        issuers: [{ issuer: ISSUER, publisher: { key: SECRET } }],
      }),
      (error: Error & { code?: string }) =>
        error.code === "usage_invalid" && !error.message.includes("s3cret"),
    );
  });

  it("refuses an option of the listening server, which the application owns", async () => {
    const options = {
      hubUrl: HUB_URL,
      port: 3000,
      issuers: [{ issuer: ISSUER, publisher: { key: SECRET } }],
    };
    await assert.rejects(
      createHubHandler(options),
      (error: Error & { code?: string }) =>
        error.code === "usage_invalid" && /^port is an option of the server/.test(error.message),
    );
  });
});

describe("the library's main entry", () => {
  it("imports no framework, directly or through the modules it imports", () => {
    const seen = new Set<string>();
    const visit = (url: URL) => {
      if (seen.has(url.href)) return;
      seen.add(url.href);
      const source = readFileSync(url, "utf8");
      for (const [, specifier] of source.matchAll(/^(?:import|export)\s[^;]*?from\s+"([^"]+)"/gms)) {
        assert.doesNotMatch(
          specifier!,
          /^(express|fastify|hono|@hono\/)/,
          `${url.pathname} imports ${specifier}`,
        );
        assert.doesNotMatch(specifier!, /\/adapters\//, `${url.pathname} imports ${specifier}`);
        if (specifier!.startsWith(".")) visit(new URL(specifier!, url));
      }
    };
    visit(new URL("../src/index.ts", import.meta.url));
    assert.ok(seen.size > 20, `followed ${seen.size} modules`);
    // Every adapter is reachable only through its own entry in package.json.
    const exports = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).exports;
    const adapters = readdirSync(new URL("../src/adapters/", import.meta.url)).filter(
      (file) => file.endsWith(".ts") && file !== "discovery-link.ts",
    );
    for (const file of adapters) {
      const name = file.replace(/\.ts$/, "");
      assert.equal(exports[`./${name}`]?.default, `./dist/adapters/${name}.js`, `the ${name} entry`);
    }
  });
});
