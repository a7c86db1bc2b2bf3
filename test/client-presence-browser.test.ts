/**
 * `presence()` of `quicksilver/client` in a real browser (Debian's Chromium), bundled as an
 * application's bundler would bundle it: two people, each in a browser context of their own, watch
 * who views one document while they come and go. Every wait is on the page's state, never on time.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { bundleClient } from "../scripts/client-bundle.ts";
import { launchChromium, type PageServer, recordPageTrouble, servePage } from "./helpers/browser.ts";
import { startTestHub, type TestHub } from "./helpers/test-hub.ts";

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>client</title>
<script type="module">
  globalThis.client = await import("/client.js");
  globalThis.log = {};
  globalThis.ready = true;
</script></head><body></body></html>`;

const topic = (name: string) => `https://example.com/books/${name}`;

/** What the page's functions see of its globals (no DOM library here). */
interface PageGlobals {
  // biome-ignore lint/suspicious/noExplicitAny: the client module as the page imported it
  client: any;
  log: Record<string, unknown[]>;
}

describe("presence() in Chromium", { timeout: 120_000 }, () => {
  let hub: TestHub;
  let pageServer: PageServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    browser = await launchChromium();
    pageServer = await servePage(PAGE, {
      "/client.js": { contentType: "text/javascript", body: await bundleClient({ minify: true }) },
    });
    hub = await startTestHub({
      subscriptions: true,
      anonymous: true,
      "cors-origins": pageServer.origin,
      listen: "localhost:0",
    });
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await pageServer?.close();
    await hub?.close();
  });

  /** A fresh page (its own cookie jar) with the client loaded, and what went wrong in it. */
  async function open(): Promise<{ page: Page; trouble: string[]; context: BrowserContext }> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const trouble = recordPageTrouble(page);
    await page.goto(pageServer.origin);
    await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
    return { page, trouble, context };
  }

  it("keeps two pages' presence lists in step as they come and go", async () => {
    const doc = topic("presence-doc");
    const viewers = `/.well-known/mercure/subscriptions/exact/${encodeURIComponent(doc)}`;
    const grants = async (name: string) =>
      hub.token({
        subscribe: [doc, viewers],
        subscribeUrlPattern: [`${viewers}/:subscriber`],
        payload: { name },
      });
    const pages = await Promise.all([open(), open()]);
    const names = ["Ada", "Grace"];
    for (const [i, { page }] of pages.entries()) {
      await page.evaluate(
        ({ hubUrl, doc, token, name }) => {
          const g = globalThis as unknown as PageGlobals;
          g.log.names = [];
          // Being present is subscribing to the document; presence() watches who is.
          g.client.subscribe(hubUrl, { match: doc, token });
          const presence = g.client.presence(hubUrl, doc, { token });
          presence.on("change", (subscribers: Map<string, { payload: { name: string } }>) =>
            g.log.names!.push(
              [...subscribers.values()]
                .map((s) => s.payload.name)
                .sort()
                .join(","),
            ),
          );
          g.log.me = [name];
        },
        { hubUrl: hub.hubUrl, doc, token: await grants(names[i]!), name: names[i] },
      );
    }
    const waitForList = (page: Page, trouble: string[], expected: string) =>
      page
        .waitForFunction(
          (list) => (globalThis as unknown as PageGlobals).log.names!.at(-1) === list,
          expected,
          { timeout: 20_000 },
        )
        .catch(async () => {
          const seen = await page.evaluate(() => (globalThis as unknown as PageGlobals).log.names);
          assert.fail(`lists seen: ${JSON.stringify(seen)}; in the page: ${trouble.join("; ") || "nothing"}`);
        });
    await waitForList(pages[0]!.page, pages[0]!.trouble, "Ada,Grace");
    await waitForList(pages[1]!.page, pages[1]!.trouble, "Ada,Grace");
    await pages[1]!.context.close();
    await waitForList(pages[0]!.page, pages[0]!.trouble, "Ada");
  });
});
