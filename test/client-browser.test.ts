/**
 * `quicksilver/client` in a real browser, bundled as an application's bundler would: cookie
 * authorization across origins, and the replay anchor read through CORS to report a gap.
 *
 * The page and the hub are both on `localhost`, on different ports: cross-origin but same-site,
 * so the SameSite=Strict cookie travels (see browser.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { bundleClient } from "../scripts/client-bundle.ts";
import { launchChromium, type PageServer, servePage } from "./helpers/browser.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

const COOKIE = "mercureAuthorization";
const TOPIC = "https://example.com/client-browser/1";
const OTHER_TOPIC = "https://example.com/client-browser/2";

/**
 * The application page: makes one subscription with the bundled SDK for each options object in
 * `?subs=` (a JSON array), to the hub in `?hub=`, with `credentials: "include"`, and records what
 * each one reports, and the requests the SDK made.
 */
function page(bundle: string): string {
  return `<!doctype html>
<meta charset="utf-8">
<title>Quicksilver client test</title>
<script type="module">
  const source = ${JSON.stringify(bundle).replaceAll("</", "<\\/")};
  const { subscribe } = await import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
  const search = new URLSearchParams(location.search);
  const requests = [];
  const recording = (input, init) => {
    requests.push(init?.method ?? "GET");
    return fetch(input, init);
  };
  window.requests = requests;
  window.mercure = JSON.parse(search.get("subs")).map((options) => {
    const state = { opens: [], received: [], errors: [], gaps: [] };
    const subscription = subscribe(search.get("hub"), { ...options, credentials: "include", fetch: recording });
    subscription.on("open", ({ anchor }) => state.opens.push(anchor ?? null));
    subscription.on("message", ({ id, data }) => state.received.push({ id, data }));
    subscription.on("error", (error) => state.errors.push(error.name));
    subscription.on("gap", (gap) => state.gaps.push(gap));
    return state;
  });
</script>
`;
}

interface PageState {
  opens: (string | null)[];
  received: { id: string; data: unknown }[];
  errors: string[];
  gaps: { requested: string; anchor: string }[];
}

/** The page's globals (the project compiles without the DOM library). */
interface PageGlobals {
  mercure?: PageState[];
  requests: string[];
}

function states(page: Page): Promise<PageState[]> {
  return page.evaluate(() => structuredClone((globalThis as unknown as PageGlobals).mercure!));
}

async function state(page: Page): Promise<PageState> {
  return (await states(page))[0]!;
}

describe("quicksilver/client in a browser", { timeout: 60_000 }, () => {
  let app: PageServer;
  let hub: TestHub;
  let hubUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let publisher: string;

  before(async () => {
    app = await servePage(page(await bundleClient({ minify: false })));
    hub = await startTestHub({ "cors-origins": app.origin, "cookie-name": COOKIE, "history-size": "2" });
    const port = (hub.server.address() as { port: number }).port;
    hubUrl = `http://localhost:${port}/.well-known/mercure`;
    publisher = await hub.token({ publish: ["*"] });
    browser = await launchChromium();
    context = await browser.newContext();
    await context.addCookies([
      {
        name: COOKIE,
        value: await hub.token({ subscribe: [TOPIC] }),
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
    await app?.close();
  });

  /** Opens the page with these subscriptions; resolves once each opened or failed. */
  async function openPage(...subs: Record<string, unknown>[]): Promise<Page> {
    const opened = await context.newPage();
    await opened.goto(`${app.origin}/?${new URLSearchParams({ hub: hubUrl, subs: JSON.stringify(subs) })}`);
    await opened.waitForFunction(() => {
      const { mercure } = globalThis as unknown as PageGlobals;
      return mercure?.every((each) => each.opens.length > 0 || each.errors.length > 0) ?? false;
    });
    return opened;
  }

  /** Resolves once the page's subscription `index` received `count` messages. */
  function received(opened: Page, count: number, index = 0): Promise<unknown> {
    return opened.waitForFunction(
      ([i, n]) => (globalThis as unknown as PageGlobals).mercure![i]!.received.length >= n,
      [index, count] as const,
    );
  }

  async function send(topic: string, data: string): Promise<string> {
    const result = await publish(hub, { topic, data, private: "on" }, { token: publisher });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  it("receives private updates through the hub's cookie, across origins", async () => {
    const opened = await openPage({ match: TOPIC });
    assert.deepEqual((await state(opened)).errors, []);
    await send(OTHER_TOPIC, "not for this cookie");
    const id = await send(TOPIC, '{"title":"Dune"}');
    await received(opened, 1);
    assert.deepEqual((await state(opened)).received, [{ id, data: { title: "Dune" } }]);
    await opened.close();
  });

  it("reads the replay anchor through CORS, and reports a gap", async () => {
    const trimmed = await send(TOPIC, "1");
    const kept = [await send(TOPIC, "2"), await send(TOPIC, "3")];
    const opened = await openPage({ match: TOPIC, lastEventId: trimmed });
    await received(opened, 2);
    const seen = await state(opened);
    assert.deepEqual(
      seen.received.map((message) => message.id),
      kept,
    );
    assert.deepEqual(seen.gaps, [{ requested: trimmed, anchor: "earliest" }]);
    assert.deepEqual(seen.opens, ["earliest"]);
    await opened.close();
  });

  it("shares one connection across origins, sending a long matcher list with QUERY", async () => {
    const padding = Array.from(
      { length: 40 },
      (_, i) => `https://example.com/padding/${i}/${"x".repeat(40)}`,
    );
    const opened = await openPage({ match: [...padding, TOPIC] }, { match: OTHER_TOPIC }, { match: TOPIC });
    const first = await send(TOPIC, "for the cookie");
    await send(OTHER_TOPIC, "not for this cookie");
    const second = await send(TOPIC, "again");
    await received(opened, 2, 0);
    await received(opened, 2, 2);
    const seen = await states(opened);
    assert.deepEqual(
      seen.map((each) => each.received.map((message) => message.id)),
      [[first, second], [], [first, second]],
    );
    assert.deepEqual(
      seen.map((each) => each.errors),
      [[], [], []],
    );
    assert.deepEqual(
      await opened.evaluate(() => (globalThis as unknown as PageGlobals).requests),
      ["QUERY"],
      "one request for the three, its matchers in a QUERY body",
    );
    await opened.close();
  });
});
