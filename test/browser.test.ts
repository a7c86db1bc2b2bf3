/**
 * A real browser against the hub: EventSource with a cookie, CORS, and a cross-origin publish.
 *
 * The page and the hub are both on `localhost`, on different ports: cross-origin but same-site,
 * which is what the draft's cookie mechanism needs (`127.0.0.1` and `localhost` would be
 * different sites, and a SameSite=Strict cookie would not travel).
 */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium, type PageServer, servePage } from "./helpers/browser.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

const COOKIE = "mercureAuthorization";
const TOPIC = "https://example.com/books/1";
const OTHER_TOPIC = "https://example.com/books/2";

/**
 * The application page: opens `new EventSource(hub, { withCredentials: true })` when the page
 * URL carries `?hub=`, and records what happens in `window.mercure`.
 */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Quicksilver browser test</title>
<script>
  window.mercure = { opened: false, received: [], errors: [] };
  const hub = new URLSearchParams(location.search).get("hub");
  if (hub !== null) {
    const source = new EventSource(hub, { withCredentials: true });
    window.mercure.source = source;
    source.onopen = () => { window.mercure.opened = true; };
    source.onmessage = (event) => { window.mercure.received.push({ id: event.lastEventId, data: event.data }); };
    source.onerror = () => { window.mercure.errors.push(source.readyState); };
  }
</script>
`;

interface PageState {
  opened: boolean;
  received: { id: string; data: string }[];
  errors: number[];
  readyState: number;
}

/**
 * The page's globals, as the functions run in the browser see them (the project compiles without
 * the DOM library; these functions are serialized and run in the page, where the cast is erased).
 */
interface PageGlobals {
  mercure: {
    opened: boolean;
    received: PageState["received"];
    errors: number[];
    source?: { readyState: number };
  };
  document: { cookie: string };
}

function state(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const { mercure } = globalThis as unknown as PageGlobals;
    return {
      opened: mercure.opened,
      received: [...mercure.received],
      errors: [...mercure.errors],
      readyState: mercure.source?.readyState ?? -1,
    };
  });
}

/** Resolves once the page's EventSource opened or failed. */
async function openedOrFailed(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const { mercure } = globalThis as unknown as PageGlobals;
    return mercure.opened || mercure.errors.length > 0;
  });
}

describe("a browser subscribing with a cookie", { timeout: 60_000 }, () => {
  let allowed: PageServer;
  let foreign: PageServer;
  let hub: TestHub;
  let hubUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let publisher: string;
  /** Every request the hub received, as the hub saw it. */
  const seen: { method: string; origin: string | undefined; cookie: string | undefined }[] = [];

  before(async () => {
    allowed = await servePage(PAGE);
    foreign = await servePage(PAGE);
    hub = await startTestHub({
      "cors-origins": allowed.origin,
      "publish-origins": allowed.origin,
      "cookie-name": COOKIE,
    });
    hub.server.on("request", (req: IncomingMessage) => {
      seen.push({ method: req.method ?? "", origin: req.headers.origin, cookie: req.headers.cookie });
    });
    const port = (hub.server.address() as { port: number }).port;
    hubUrl = `http://localhost:${port}/.well-known/mercure`;
    publisher = await hub.token({ publish: ["*"] });
    browser = await launchChromium();
    context = await browser.newContext();
    // As an application would set it (over https it would be __Secure- and Secure): HttpOnly,
    // SameSite=Strict, for the hub's host and path.
    await context.addCookies([
      {
        name: COOKIE,
        value: await hub.token({ subscribe: [TOPIC], publish: [TOPIC] }),
        domain: "localhost",
        path: "/.well-known/mercure",
        httpOnly: true,
        secure: false,
        sameSite: "Strict",
      },
    ]);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await hub?.close();
    await allowed?.close();
    await foreign?.close();
  });

  async function openPage(server: PageServer, match: string): Promise<Page> {
    const page = await context.newPage();
    const hub = `${hubUrl}?${new URLSearchParams({ match })}`;
    await page.goto(`${server.origin}/?${new URLSearchParams({ hub })}`);
    return page;
  }

  async function send(topic: string, data: string): Promise<string> {
    const result = await publish(hub, { topic, data, private: "on" }, { token: publisher });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  it("delivers a private update to an allowed origin's EventSource through the cookie", async () => {
    const page = await openPage(allowed, "*");
    await openedOrFailed(page);
    assert.deepEqual(await state(page).then((s) => [s.opened, s.errors]), [true, []]);
    const subscribe = seen.findLast(
      (request) => request.method === "GET" && request.origin === allowed.origin,
    );
    assert.ok(subscribe?.cookie?.includes(`${COOKIE}=`), "the browser sent the cookie with the EventSource");
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).document.cookie),
      "",
      "the HttpOnly cookie is invisible to the page's scripts",
    );

    await send(OTHER_TOPIC, "not for this token"); // private, on a topic the cookie does not grant
    const id = await send(TOPIC, "for the cookie's holder");
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).mercure.received.length > 0);
    assert.deepEqual((await state(page)).received, [{ id, data: "for the cookie's holder" }]);
    await page.close();
  });

  it("does not let an origin off the allowlist read the stream", async () => {
    const page = await openPage(foreign, TOPIC);
    // A CORS failure fails the EventSource for good: error, then CLOSED, never a reconnection,
    // so no event can reach the page afterwards (a CLOSED EventSource dispatches nothing).
    await openedOrFailed(page);
    const after = await state(page);
    assert.equal(after.opened, false, "the stream never opened for the page");
    assert.deepEqual(after.errors, [2], "one error, with readyState EventSource.CLOSED");
    assert.equal(after.readyState, 2);
    assert.deepEqual(after.received, []);
    const subscribe = seen.findLast(
      (request) => request.method === "GET" && request.origin === foreign.origin,
    );
    assert.ok(
      subscribe?.cookie?.includes(`${COOKIE}=`),
      "the same-site cookie was sent: CORS is what stopped the page",
    );
    await page.close();
  });

  it("lets an allowed origin read a 401 and its WWW-Authenticate challenge", async () => {
    const page = await openPage(allowed, TOPIC);
    const answer = await page.evaluate(async (url) => {
      const response = await fetch(url, { credentials: "omit" });
      await response.body?.cancel();
      return { status: response.status, challenge: response.headers.get("WWW-Authenticate") };
    }, `${hubUrl}?match=x`);
    assert.equal(answer.status, 401);
    assert.match(answer.challenge ?? "", /^Bearer resource_metadata="/);
    await page.close();
  });

  it("lets an allowed origin's fetch read Mercure-Last-Event-ID, to tell a gap from none", async () => {
    const id = await send(TOPIC, "before the reconnection");
    const page = await openPage(allowed, TOPIC);
    const anchors = await page.evaluate(
      async ({ hub, topic, id }) => {
        const anchor = async (cursor: string) => {
          const url = `${hub}?${new URLSearchParams({ match: topic, last_event_id: cursor })}`;
          const response = await fetch(url, { credentials: "include" });
          await response.body?.cancel();
          return response.headers.get("Mercure-Last-Event-ID");
        };
        return { known: await anchor(id), unknown: await anchor("urn:uuid:never-published") };
      },
      { hub: hubUrl, topic: TOPIC, id },
    );
    // The unknown cursor is answered with earliest: the script can see it may have missed updates.
    assert.deepEqual(anchors, { known: id, unknown: "earliest" });
    await page.close();
  });

  describe("publishing with the cookie (CSRF)", () => {
    let watcher: Stream;

    before(async () => {
      watcher = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
        headers: { Authorization: `Bearer ${await hub.token({ subscribe: ["*"] })}` },
      });
    });
    after(() => watcher.close());

    /** Publishes a public marker from Node and waits for it: its position in the watcher's stream. */
    async function marker(): Promise<number> {
      const result = await publish(hub, { topic: "https://example.com/marker" }, { token: publisher });
      for (let count = 1; ; count++) {
        const events = await watcher.waitForEvents(count);
        if (events[count - 1]!.id === result.body) return count - 1;
      }
    }

    function publishFromPage(page: Page): Promise<{ status: number; body: string } | { error: string }> {
      return page.evaluate(
        async ({ url, topic }) => {
          try {
            const response = await fetch(url, {
              method: "POST",
              credentials: "include",
              headers: { "Content-Type": "application/x-www-form-urlencoded" },
              body: new URLSearchParams({ topic, data: "from the page" }),
            });
            return { status: response.status, body: await response.text() };
          } catch (error) {
            return { error: String(error) };
          }
        },
        { url: hubUrl, topic: TOPIC },
      );
    }

    it("accepts a cookie publish from an origin on publish-origins", async () => {
      const page = await openPage(allowed, TOPIC);
      const before = await marker();
      const result = await publishFromPage(page);
      assert.ok("status" in result, JSON.stringify(result));
      assert.equal(result.status, 200, result.body);
      const events = await watcher.waitForEvents(before + 2);
      assert.equal(events[before + 1]!.id, result.body);
      await page.close();
    });

    it("refuses a cookie publish from a same-site origin off publish-origins, dispatching nothing", async () => {
      const page = await openPage(foreign, TOPIC);
      const first = await marker();
      const requests = seen.length;
      const result = await publishFromPage(page);
      // The browser sent the request (a form POST needs no preflight) with the cookie: the hub refused it.
      assert.ok("error" in result, "the page cannot read the answer either");
      const post = seen.slice(requests).find((request) => request.method === "POST");
      assert.equal(post?.origin, foreign.origin);
      assert.ok(post?.cookie?.includes(`${COOKIE}=`), "the cookie travelled with the forged request");
      const second = await marker();
      assert.equal(second, first + 1, "nothing was dispatched between the two markers");
      await page.close();
    });
  });
});
