/**
 * The framework adapters, each through the example docs/adapters.md shows (examples/adapters): a
 * books API and its hub in one app, on a real socket. For every framework: a subscriber receives
 * an update published through the app's port, private updates reach only a subscriber with a
 * token, the app's own routes still answer and carry the discovery link, and closing the app
 * ends the streams.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import * as expressExample from "../examples/adapters/express.ts";
import * as fastifyExample from "../examples/adapters/fastify.ts";
import * as honoExample from "../examples/adapters/hono.ts";
import * as nodeHttpExample from "../examples/adapters/node-http.ts";
import { createHubHandler } from "../src/adapters/node-http.ts";
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
