/**
 * A real browser (Chromium) against the hub in the legacy dialect, the way a Symfony application
 * works: the application's server sets the `mercureAuthorization` cookie as symfony/mercure's
 * `Authorization::setCookie` does, and the page opens
 * `new EventSource(hub + "?topic=...", { withCredentials: true })` cross-origin.
 *
 * The application and the hub are both reached as `localhost`, on different ports: cross-origin
 * (CORS applies, hence --cors-origins) but same-site, because a site is the scheme and the
 * registrable domain, never the port. So the SameSite=Strict cookie the application set travels
 * with the EventSource request to the hub, and a host-only cookie (no Domain attribute, which is
 * what Symfony sets when the hub's host is the application's) is sent to every port of that host.
 * Chromium would not send it from `localhost` to `127.0.0.1`: different hosts, and different
 * sites.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium, recordPageTrouble } from "./helpers/browser.ts";
import { LEGACY_COOKIE, legacyToken, startLegacyHub, symfonyAuthorizationCookie } from "./helpers/legacy.ts";
import { publish, type TestHub } from "./helpers/test-hub.ts";

const BOOKS = "https://example.com/books/{id}";
const MARKER = "https://example.com/marker";

/**
 * The application's page: subscribes to the books template and the marker, with credentials, and
 * records what happens in `window.mercure`.
 */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Quicksilver legacy browser test</title>
<script>
  window.mercure = { opened: false, received: [], errors: [] };
  const url = new URL(new URLSearchParams(location.search).get("hub"));
  url.searchParams.append("topic", ${JSON.stringify(BOOKS)});
  url.searchParams.append("topic", ${JSON.stringify(MARKER)});
  const source = new EventSource(url, { withCredentials: true });
  source.onopen = () => { window.mercure.opened = true; };
  source.onmessage = (event) => { window.mercure.received.push({ id: event.lastEventId, data: event.data }); };
  source.onerror = () => { window.mercure.errors.push(source.readyState); };
</script>
`;

/** The page's globals, as the functions run in the browser see them. */
interface PageGlobals {
  mercure: { opened: boolean; received: { id: string; data: string }[]; errors: number[] };
  document: { cookie: string };
}

interface AppServer {
  readonly server: Server;
  /** `http://localhost:<port>` */
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * The application: `/login` sets the cookie as Symfony's Authorization::setCookie would and serves
 * the page; `/` serves the page alone.
 */
async function startApp(setCookie: () => string): Promise<AppServer> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== "/" && path !== "/login") {
      res.writeHead(path === "/favicon.ico" ? 204 : 404).end();
      return;
    }
    res.writeHead(200, {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      ...(path === "/login" ? { "Set-Cookie": setCookie() } : {}),
    });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    origin: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe("legacy dialect: a browser with Symfony's mercureAuthorization cookie", { timeout: 60_000 }, () => {
  let hub: TestHub;
  let hubUrl: string;
  let app: AppServer;
  let browser: Browser;
  let publisher: string;
  const contexts: BrowserContext[] = [];
  /** The subscribe requests the hub received, as the hub saw them. */
  const subscribes: { origin: string | undefined; cookie: string | undefined }[] = [];

  before(async () => {
    let cookie = "";
    app = await startApp(() => cookie);
    // Anonymous subscribers are allowed, so the page without the cookie still gets a stream (of
    // public updates): the ordered marker then proves the private update was withheld from it.
    hub = await startLegacyHub({ anonymous: true, "cors-origins": app.origin });
    hub.server.on("request", (req: IncomingMessage) => {
      if (req.method === "GET") subscribes.push({ origin: req.headers.origin, cookie: req.headers.cookie });
    });
    hubUrl = `http://localhost:${(hub.server.address() as AddressInfo).port}/.well-known/mercure`;
    // As Symfony makes it: the exp follows the cookie lifetime (1 hour for a session cookie).
    cookie = symfonyAuthorizationCookie(await legacyToken({ subscribe: [BOOKS], ttlSeconds: 3600 }), hubUrl);
    publisher = await legacyToken({ publish: [BOOKS, MARKER] });
    browser = await launchChromium();
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await hub?.close();
    await app?.close();
  });

  /** Opens the application at `path` in a fresh browser context and waits for its EventSource. */
  async function openApp(path: string): Promise<{ context: BrowserContext; page: Page; trouble: string[] }> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const trouble = recordPageTrouble(page);
    await page.goto(`${app.origin}${path}?${new URLSearchParams({ hub: hubUrl })}`);
    await page.waitForFunction(() => {
      const { mercure } = globalThis as unknown as PageGlobals;
      return mercure.opened || mercure.errors.length > 0;
    });
    const state = await page.evaluate(() => (globalThis as unknown as PageGlobals).mercure);
    assert.deepEqual(
      [state.opened, state.errors],
      [true, []],
      `the EventSource opened: ${trouble.join("; ")}`,
    );
    return { context, page, trouble };
  }

  /** What the page received, once the update with id `marker` arrived. */
  async function receivedThrough(page: Page, marker: string): Promise<{ id: string; data: string }[]> {
    await page.waitForFunction(
      (id) => (globalThis as unknown as PageGlobals).mercure.received.some((event) => event.id === id),
      marker,
    );
    return page.evaluate(() => [...(globalThis as unknown as PageGlobals).mercure.received]);
  }

  async function send(fields: Record<string, string>): Promise<string> {
    const result = await publish(hub, fields, { token: publisher });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  it("delivers a private update to the page holding the cookie, and only to it", async () => {
    const withCookie = await openApp("/login");
    const [cookie] = await withCookie.context.cookies(hubUrl);
    assert.deepEqual(
      cookie && {
        name: cookie.name,
        path: cookie.path,
        httpOnly: cookie.httpOnly,
        sameSite: cookie.sameSite,
      },
      { name: LEGACY_COOKIE, path: "/.well-known/mercure", httpOnly: true, sameSite: "Strict" },
      "the browser kept the cookie the application set, for the hub's path",
    );
    assert.ok(
      subscribes.at(-1)?.cookie?.includes(`${LEGACY_COOKIE}=`),
      "the cross-origin EventSource request carried the cookie",
    );
    assert.equal(subscribes.at(-1)?.origin, app.origin);
    assert.equal(
      await withCookie.page.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie),
      "",
      "the HttpOnly cookie is out of the page scripts' reach",
    );

    const without = await openApp("/");
    assert.equal(subscribes.at(-1)?.cookie, undefined, "the second context has no cookie to send");

    const secret = await send({
      topic: "https://example.com/books/1",
      data: "private book 1",
      private: "on",
    });
    const marker = await send({ topic: MARKER, data: "marker" });
    assert.deepEqual(
      await receivedThrough(withCookie.page, marker),
      [
        { id: secret, data: "private book 1" },
        { id: marker, data: "marker" },
      ],
      `the cookie's holder gets the private update, then the marker (${withCookie.trouble.join("; ")})`,
    );
    assert.deepEqual(
      await receivedThrough(without.page, marker),
      [{ id: marker, data: "marker" }],
      "without the cookie, the marker arrives and the private update before it did not",
    );
  });
});
