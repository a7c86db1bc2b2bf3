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
 * The application page: subscribes with the bundled SDK when the page URL carries `?hub=` and
 * `?match=` (and `?last=`), with `credentials: "include"`, and records what happens.
 */
function page(bundle: string): string {
  return `<!doctype html>
<meta charset="utf-8">
<title>Quicksilver client test</title>
<script type="module">
  const source = ${JSON.stringify(bundle).replaceAll("</", "<\\/")};
  const { subscribe } = await import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));
  const state = { opens: [], received: [], errors: [], gaps: [] };
  window.mercure = state;
  const search = new URLSearchParams(location.search);
  const options = { match: search.get("match"), credentials: "include" };
  if (search.has("last")) options.lastEventId = search.get("last");
  const subscription = subscribe(search.get("hub"), options);
  subscription.on("open", ({ anchor }) => state.opens.push(anchor ?? null));
  subscription.on("message", ({ id, data }) => state.received.push({ id, data }));
  subscription.on("error", (error) => state.errors.push(error.name));
  subscription.on("gap", (gap) => state.gaps.push(gap));
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
  mercure?: PageState;
}

function state(page: Page): Promise<PageState> {
  return page.evaluate(() => structuredClone((globalThis as unknown as PageGlobals).mercure!));
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

  async function openPage(parameters: Record<string, string>): Promise<Page> {
    const opened = await context.newPage();
    await opened.goto(`${app.origin}/?${new URLSearchParams({ hub: hubUrl, ...parameters })}`);
    await opened.waitForFunction(() => {
      const { mercure } = globalThis as unknown as PageGlobals;
      return mercure !== undefined && (mercure.opens.length > 0 || mercure.errors.length > 0);
    });
    return opened;
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
    await opened.waitForFunction(() => (globalThis as unknown as PageGlobals).mercure!.received.length > 0);
    assert.deepEqual((await state(opened)).received, [{ id, data: { title: "Dune" } }]);
    await opened.close();
  });

  it("reads the replay anchor through CORS, and reports a gap", async () => {
    const trimmed = await send(TOPIC, "1");
    const kept = [await send(TOPIC, "2"), await send(TOPIC, "3")];
    const opened = await openPage({ match: TOPIC, last: trimmed });
    await opened.waitForFunction(() => (globalThis as unknown as PageGlobals).mercure!.received.length === 2);
    const seen = await state(opened);
    assert.deepEqual(
      seen.received.map((message) => message.id),
      kept,
    );
    assert.deepEqual(seen.gaps, [{ requested: trimmed, anchor: "earliest" }]);
    assert.deepEqual(seen.opens, ["earliest"]);
    await opened.close();
  });
});
