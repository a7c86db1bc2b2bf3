/**
 * The presence example (examples/presence), in a real browser: two people open the same document,
 * each in their own browser context (their own cookie jar), and each page's list of viewers must
 * follow the other's arrival and departure.
 *
 * Every wait is on the page's DOM (`waitForFunction`), never on time. A stream delivers events in
 * order, so a list that reached an expected state after a later event also proves that an earlier,
 * unwanted event never came.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { type PresenceExample, startPresenceExample } from "../examples/presence/server.ts";
import { launchChromium, recordPageTrouble } from "./helpers/browser.ts";

/** The page's globals, as the functions run in the browser see them (no DOM library here). */
interface DomGlobals {
  document: {
    cookie: string;
    querySelectorAll(selector: string): Iterable<{ textContent: string | null }>;
  };
}

interface Viewer {
  readonly name: string;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly trouble: string[];
}

describe("the presence example in Chromium", { timeout: 90_000 }, () => {
  let example: PresenceExample;
  let browser: Browser;

  before(async () => {
    browser = await launchChromium(); // fails with what to install when Chromium is missing
    example = await startPresenceExample({ port: 0, hubPort: 0 });
  });
  after(async () => {
    await browser?.close();
    await example?.close();
  });

  /** Opens the document in a fresh browser context and joins as `name`. */
  async function join(name: string, doc: string): Promise<Viewer> {
    const context = await browser.newContext();
    const page = await context.newPage();
    const trouble = recordPageTrouble(page);
    await page.goto(`${example.pageUrl}/?doc=${doc}`);
    await page.fill("#name", name);
    await page.click("#open");
    return { name, context, page, trouble };
  }

  function shownViewers(page: Page): Promise<(string | null)[]> {
    return page.evaluate(() => {
      const { document } = globalThis as unknown as DomGlobals;
      return Array.from(document.querySelectorAll("#viewers li"), (item) => item.textContent);
    });
  }

  /** Waits until the viewer's page lists exactly `expected` (the page sorts the names). */
  async function waitForViewers(viewer: Viewer, expected: string[]): Promise<void> {
    try {
      await viewer.page.waitForFunction(
        (names) => {
          const { document } = globalThis as unknown as DomGlobals;
          const shown = Array.from(document.querySelectorAll("#viewers li"), (item) => item.textContent);
          return JSON.stringify(shown) === JSON.stringify(names);
        },
        expected,
        { timeout: 20_000 },
      );
    } catch (error) {
      const shown = await shownViewers(viewer.page).catch(() => "(the page is gone)");
      const status = await viewer.page.textContent("#status").catch(() => null);
      assert.fail(
        `${viewer.name}'s page lists ${JSON.stringify(shown)}, expected ${JSON.stringify(expected)} ` +
          `(${(error as Error).message.split("\n")[0]}); its status line says ${JSON.stringify(status)}; ` +
          `in the page: ${viewer.trouble.join("; ") || "nothing went wrong"}`,
      );
    }
  }

  it("shows each viewer the other arriving and leaving", async () => {
    const ada = await join("Ada", "roadmap");
    await waitForViewers(ada, ["Ada"]); // her own subscription, announced to herself
    assert.equal(
      await ada.page.evaluate(() => (globalThis as unknown as DomGlobals).document.cookie),
      "",
      "the token cookie is HttpOnly: the page's scripts cannot read it",
    );

    const grace = await join("Grace", "roadmap");
    await waitForViewers(grace, ["Ada", "Grace"]); // Ada from the list, Grace from her own event
    await waitForViewers(ada, ["Ada", "Grace"]); // Grace's arrival, from the subscription event

    await grace.context.close(); // her stream ends: the hub announces the end of her subscription
    await waitForViewers(ada, ["Ada"]);
    await ada.context.close();
  });

  it("does not show viewers of another document", async () => {
    const ada = await join("Ada", "budget");
    await waitForViewers(ada, ["Ada"]);
    const linus = await join("Linus", "minutes"); // another document
    await waitForViewers(linus, ["Linus"]);
    // Zoe arrives on Ada's document after Linus arrived on his: had Linus's arrival reached Ada, it
    // would have come before Zoe's on the same stream.
    const zoe = await join("Zoe", "budget");
    await waitForViewers(ada, ["Ada", "Zoe"]);
    await waitForViewers(zoe, ["Ada", "Zoe"]);
    await waitForViewers(linus, ["Linus"]);
    for (const viewer of [ada, linus, zoe]) await viewer.context.close();
  });
});
