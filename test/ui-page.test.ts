/**
 * The hub's debug page (ui/) in Chromium, beside a real hub on the page's own origin and under the
 * page's strict CSP: subscribing and publishing from the page, a private update seen only with a
 * granting token, presence in two pages, hostile data shown as text, and no request leaving the
 * origin. Every wait is on the page's state, never on time.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium, recordPageTrouble } from "./helpers/browser.ts";
import { publish, type TestHub } from "./helpers/test-hub.ts";
import { startUiHub, type UiServer } from "./helpers/ui-server.ts";

const PACKAGE = new URL("../package.json", import.meta.url);

const topic = (name: string) => `https://example.com/books/${name}`;

/**
 * What went wrong in a page, less what this test made happen: Chromium reports every HTTP refusal
 * as a console error (the status polled before a token was pasted, the refused publish), and a
 * stopped stream as an aborted request.
 */
function unexpected(trouble: string[]): string[] {
  return trouble.filter(
    (line) =>
      !/^console: Failed to load resource: the server responded with a status of 40[13] /.test(line) &&
      !/^request failed: GET \S+\/\.well-known\/mercure\?\S*match=\S+ \(net::ERR_ABORTED\)$/.test(line),
  );
}

/** The page's globals, as the functions run in it see them (no DOM library here). */
interface InPage {
  document: { querySelector(selector: string): { textContent: string | null } | null };
}

interface OpenPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Uncaught errors, console errors, failed requests. */
  readonly trouble: string[];
  /** Every URL the page requested. */
  readonly requests: string[];
}

describe("the hub's debug page", { timeout: 120_000 }, () => {
  let hub: TestHub;
  let ui: UiServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  before(async () => {
    browser = await launchChromium();
    ui = await startUiHub({ dev: true, flags: { subscriptions: true } });
    hub = ui.hub;
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await ui?.close();
  });

  async function open(at: UiServer = ui): Promise<OpenPage> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const trouble = recordPageTrouble(page);
    const requests: string[] = [];
    page.on("request", (request) => requests.push(request.url()));
    await page.goto(at.pageUrl);
    await page.waitForSelector("html[data-ready=true]");
    return { page, context, trouble, requests };
  }

  /** Subscribes from the page's form with the matchers given; waits until the stream is open. */
  async function subscribeFromPage({ page, trouble }: OpenPage, match: string): Promise<void> {
    await page.fill("#sub-match", match);
    await page.click("#sub-start");
    await waitForText(page, trouble, "#sub-status", "connected");
  }

  async function waitForText(page: Page, trouble: string[], selector: string, text: string): Promise<void> {
    await page
      .waitForFunction(
        ({ selector, text }) =>
          (globalThis as unknown as InPage).document.querySelector(selector)?.textContent?.includes(text) ===
          true,
        { selector, text },
        { timeout: 20_000 },
      )
      .catch(async () => {
        const seen = await page.textContent(selector);
        assert.fail(
          `${selector} says ${JSON.stringify(seen)}, not ${text}; in the page: ${trouble.join("; ") || "nothing"}`,
        );
      });
  }

  const logEntry = (page: Page, id: string) => page.locator(`#sub-log li.event[data-id="${id}"]`);

  it("subscribes with a development token, publishes from the page and shows the event", async () => {
    const opened = await open();
    const { page, trouble, requests } = opened;
    await page.click("#dev-token-grants summary");
    await page.fill("#dev-publish", topic("1"));
    await page.fill("#dev-subscribe", "*");
    await page.click("#dev-token");
    await waitForText(page, trouble, "#token-status", "development token generated");
    await subscribeFromPage(opened, "*");
    await waitForText(page, trouble, "#sub-log", "Mercure-Last-Event-ID");

    await page.fill("#pub-topics", topic("1"));
    await page.fill("#pub-data", '{"title":"Dune"}');
    await page.fill("#pub-type", "book.updated");
    await page.fill("#pub-id", "book-1-rev-1");
    await page.click("#pub-send");
    await waitForText(page, trouble, "#pub-result", "published: book-1-rev-1");
    await logEntry(page, "book-1-rev-1").waitFor({ timeout: 20_000 });
    const entry = logEntry(page, "book-1-rev-1");
    assert.equal(await entry.locator(".type").textContent(), "type: book.updated");
    assert.equal(await entry.locator(".data").textContent(), JSON.stringify({ title: "Dune" }, null, 2));

    // The curl line says $TOKEN, never the token.
    const curl = await page.inputValue("#pub-curl");
    const token = await page.inputValue("#token");
    assert.match(curl, /Authorization: Bearer \$TOKEN/);
    assert.ok(!curl.includes(token), "the curl line holds the token");
    assert.match(curl, /--data-urlencode 'id=book-1-rev-1'/);

    // A topic the token does not grant: the hub's stable code is shown.
    await page.fill("#pub-topics", topic("2"));
    await page.fill("#pub-id", "");
    await page.click("#pub-send");
    await waitForText(page, trouble, "#pub-result", "403 insufficient_scope");

    // Filtering hides what does not match, and shows it again.
    await page.fill("#sub-filter", "no such text");
    assert.equal(await entry.isVisible(), false);
    await page.fill("#sub-filter", "dune");
    assert.equal(await entry.isVisible(), true);

    // Stopping and reconnecting from the last id: the cursor is the last event's.
    await page.click("#sub-stop");
    assert.equal(await page.inputValue("#sub-last-id"), "book-1-rev-1");
    await page.click("#sub-resume");
    await waitForText(page, trouble, "#sub-status", "connected");

    assert.deepEqual(unexpected(trouble), []);
    const elsewhere = requests.filter((url) => !url.startsWith(`${ui.origin}/`));
    assert.deepEqual(elsewhere, [], "the page requested another origin");
  });

  it("shows a private update only with a token that grants its topic", async () => {
    const secret = topic("private");
    const [granted, other] = await Promise.all([open(), open()]);
    await granted.page.fill("#token", await hub.token({ subscribe: [secret] }));
    await other.page.fill("#token", await hub.token({ subscribe: [topic("elsewhere")] }));
    await subscribeFromPage(granted, "*");
    await subscribeFromPage(other, "*");
    const publisher = await hub.token({ publish: ["*"] });
    const sent = await publish(
      hub,
      { topic: secret, data: "secret", private: "on", id: "private-1" },
      { token: publisher },
    );
    assert.equal(sent.status, 200, sent.body);
    // A public update after it: once a page has it, it had the private one if it ever would.
    const marker = await publish(
      hub,
      { topic: topic("public"), data: "public", id: "public-1" },
      { token: publisher },
    );
    assert.equal(marker.status, 200, marker.body);
    for (const { page } of [granted, other]) await logEntry(page, "public-1").waitFor({ timeout: 20_000 });
    assert.equal(await logEntry(granted.page, "private-1").count(), 1);
    assert.equal(await logEntry(other.page, "private-1").count(), 0);
    // Each entry says whether the update is private, and which of the page's matchers it matched.
    const shown = async (id: string) =>
      logEntry(granted.page, id).locator(".privacy, .matched").allTextContents();
    assert.deepEqual(await shown("private-1"), ["private", "matched: *"]);
    assert.deepEqual(await shown("public-1"), ["public", "matched: *"]);
  });

  it("shows hostile data as text", async () => {
    const opened = await open();
    const { page, trouble } = opened;
    await page.fill("#token", await hub.token({ subscribe: ["*"], publish: ["*"] }));
    await subscribeFromPage(opened, "*");
    const hostile = `<img src=x onerror="document.documentElement.dataset.pwned='1'">`;
    await page.fill("#pub-topics", topic("hostile"));
    await page.fill("#pub-data", hostile);
    await page.fill("#pub-id", "hostile-1");
    await page.fill("#pub-type", "<b>bold</b>");
    await page.click("#pub-send");
    await logEntry(page, "hostile-1").waitFor({ timeout: 20_000 });
    const entry = logEntry(page, "hostile-1");
    assert.equal(await entry.locator(".data").textContent(), hostile);
    assert.equal(await entry.locator(".type").textContent(), "type: <b>bold</b>");
    assert.equal(await page.locator("#sub-log img, #sub-log b").count(), 0);
    assert.equal(await page.getAttribute("html", "data-pwned"), null);
    assert.deepEqual(unexpected(trouble), []);
  });

  it("shows a gap when the hub does not find the cursor", async () => {
    const opened = await open();
    const { page, trouble } = opened;
    await page.fill("#token", await hub.token({ subscribe: ["*"] }));
    await page.fill("#sub-last-id", "no-such-id");
    await subscribeFromPage(opened, "*");
    await waitForText(page, trouble, "#sub-log .gap", "the hub did not find no-such-id");
  });

  it("hides the development token button of a hub that mints none", async () => {
    const production = await startUiHub({ dev: false });
    try {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      const trouble = recordPageTrouble(page);
      await page.goto(production.pageUrl);
      await page.waitForSelector("html[data-ready=true]");
      await page.click("#dev-token");
      await waitForText(page, trouble, "#token-status", "this hub does not mint development tokens");
      assert.equal(await page.isVisible("#dev-token"), false);
      assert.equal(await page.inputValue("#token"), "");
    } finally {
      await production.close();
    }
  });

  it("subscribes with the hub's cookie when asked to, and sends no Authorization header", async () => {
    const cookieUi = await startUiHub({ dev: true, flags: { "cookie-name": "mercure_token" } });
    const cookieHub = cookieUi.hub;
    try {
      const secret = topic("cookie-private");
      const context = await browser.newContext();
      contexts.push(context);
      await context.addCookies([
        {
          name: "mercure_token",
          value: await cookieHub.token({ subscribe: [secret] }),
          url: cookieUi.origin,
        },
      ]);
      const page = await context.newPage();
      const trouble = recordPageTrouble(page);
      const authorizations: (string | undefined)[] = [];
      page.on("request", (request) => {
        if (/[?&]match=/.test(request.url())) authorizations.push(request.headers().authorization);
      });
      await page.goto(cookieUi.pageUrl);
      await page.waitForSelector("html[data-ready=true]");
      // A pasted token that is not used: the cookie is the authorization chosen.
      await page.fill("#token", "not-a-token");
      await page.check("input[name=sub-auth][value=cookie]");
      await subscribeFromPage({ page, trouble, context, requests: [] }, secret);
      const sent = await publish(
        cookieHub,
        { topic: secret, data: "for cookie holders", private: "on", id: "cookie-1" },
        { token: await cookieHub.token({ publish: ["*"] }) },
      );
      assert.equal(sent.status, 200, sent.body);
      await logEntry(page, "cookie-1").waitFor({ timeout: 20_000 });
      assert.deepEqual(authorizations, [undefined]);
    } finally {
      await cookieUi.close();
      await cookieHub.close();
    }
  });

  it("keeps the token across a reload only when asked to remember it", async () => {
    const { page, trouble } = await open();
    const token = await hub.token({ subscribe: ["*"] });
    await page.fill("#token", token);
    await page.reload();
    await page.waitForSelector("html[data-ready=true]");
    assert.equal(await page.inputValue("#token"), "");
    await page.fill("#token", token);
    await page.check("#token-remember");
    await page.reload();
    await page.waitForSelector("html[data-ready=true]");
    assert.equal(await page.inputValue("#token"), token);
    await page.uncheck("#token-remember");
    await page.reload();
    await page.waitForSelector("html[data-ready=true]");
    assert.equal(await page.inputValue("#token"), "");
    assert.deepEqual(unexpected(trouble), []);
  });

  it("lists two pages present on one topic, and one when the other leaves", async () => {
    const doc = topic("presence-doc");
    const viewers = `/.well-known/mercure/subscriptions/exact/${encodeURIComponent(doc)}`;
    const pages = await Promise.all([open(), open()]);
    for (const [i, { page }] of pages.entries()) {
      const token = await hub.token({
        subscribe: [doc, viewers],
        subscribeUrlPattern: [`${viewers}/:subscriber`],
        payload: { name: ["Ada", "Grace"][i] },
      });
      await page.fill("#token", token);
      await page.fill("#presence-topic", doc);
      await page.check("#presence-join");
      await page.click("#presence-start");
    }
    for (const { page, trouble } of pages)
      await waitForText(page, trouble, "#presence-status", "2 subscription(s)");
    const names = await pages[0]!.page.locator("#presence-list .payload").allTextContents();
    assert.deepEqual(names.sort(), ['{"name":"Ada"}', '{"name":"Grace"}']);
    await pages[1]!.context.close();
    await waitForText(pages[0]!.page, pages[0]!.trouble, "#presence-status", "1 subscription(s)");
  });

  it("shows the hub's status once given a token, and deliveries per second", async () => {
    // Outside development mode the status needs a token.
    const production = await startUiHub({ dev: false, flags: { subscriptions: true } });
    try {
      const opened = await open(production);
      const { page, trouble } = opened;
      await waitForText(page, trouble, "#hub-status", "paste a token to see the hub's status");
      await page.fill("#token", await production.hub.token({ subscribe: ["*"] }));
      await waitForText(page, trouble, "#hub-version", JSON.parse(await readFile(PACKAGE, "utf8")).version);
      assert.equal(await page.textContent("#hub-dialects"), "draft-08");
      assert.equal(await page.textContent("#hub-subscriptions"), "on");
      // The rate needs two reads with deliveries between them: the page's own stream receives.
      await subscribeFromPage(opened, "*");
      const token = await production.hub.token({ publish: ["*"] });
      const rate = () =>
        page.evaluate(() =>
          Number((globalThis as unknown as InPage).document.querySelector("#hub-rate")?.textContent),
        );
      for (let i = 0; (await rate()) <= 0; i++) {
        assert.ok(i < 1000, "the rate never rose above zero");
        const sent = await publish(production.hub, { topic: topic("rate"), data: String(i) }, { token });
        assert.equal(sent.status, 200, sent.body);
      }
    } finally {
      await production.close();
    }
  });
});
