/**
 * Takes the screenshots of docs/ui/: starts a hub, opens the debug page in Chromium, drives each
 * panel as a user would, and writes one PNG a panel (`npm run screenshots:ui`).
 */
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { launchChromium } from "../test/helpers/browser.ts";
import { publish } from "../test/helpers/test-hub.ts";
import { startUiHub } from "../test/helpers/ui-server.ts";

const OUTPUT = fileURLToPath(new URL("../docs/ui/", import.meta.url));
const DOCUMENT = "https://example.com/documents/roadmap";
const VIEWERS = `/.well-known/mercure/subscriptions/exact/${encodeURIComponent(DOCUMENT)}`;

const ui = await startUiHub({ dev: true, flags: { subscriptions: true } });
const { hub } = ui;
const browser = await launchChromium();
try {
  const token = (name: string) =>
    hub.token({
      publish: ["*"],
      subscribe: ["*", VIEWERS],
      subscribeUrlPattern: [`${VIEWERS}/:subscriber`],
      payload: { name },
    });
  const open = async (name: string): Promise<Page> => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: "light",
    });
    const page = await context.newPage();
    await page.goto(ui.pageUrl);
    await page.waitForSelector("html[data-ready=true]");
    await page.fill("#token", await token(name));
    return page;
  };
  const page = await open("Ada");

  // Subscribe: every topic the token reads, then three updates arrive.
  await page.fill("#sub-match", "*");
  await page.click("#sub-start");
  await page.waitForSelector("#sub-log li.anchor");
  const books = [
    { id: "book-1-rev-7", type: "book.updated", data: { title: "Dune", status: "borrowed" } },
    { id: "book-2-rev-1", type: "book.created", data: { title: "Les Misérables", stock: 3 } },
    { id: "book-1-rev-8", type: "book.updated", data: { title: "Dune", status: "returned" } },
  ];
  for (const [i, book] of books.entries()) {
    await page.fill("#pub-topics", `https://example.com/books/${i === 1 ? 2 : 1}`);
    await page.fill("#pub-data", JSON.stringify(book.data));
    await page.fill("#pub-id", book.id);
    await page.fill("#pub-type", book.type);
    await page.click("#pub-send");
    await page.waitForSelector(`#sub-log li.event[data-id="${book.id}"]`);
  }
  await page.locator("#subscribe").screenshot({ path: `${OUTPUT}subscribe.png` });

  // Publish: a private update to two topics, and a refusal's stable code shown after it.
  await page.fill("#pub-topics", "https://example.com/books/1\nhttps://example.com/users/ada/books");
  await page.fill("#pub-data", JSON.stringify({ title: "Dune", status: "reserved" }));
  await page.check("#pub-private");
  await page.fill("#pub-id", "book-1-rev-9");
  await page.fill("#pub-type", "book.updated");
  await page.fill("#pub-retry", "");
  await page.click("#pub-send");
  await page.waitForFunction(() =>
    (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } } }).document
      .querySelector("#pub-result")
      .textContent.startsWith("published"),
  );
  await page.locator("#publish").screenshot({ path: `${OUTPUT}publish.png` });

  // Presence: Ada and Grace view the roadmap.
  const grace = await open("Grace");
  for (const viewer of [page, grace]) {
    await viewer.fill("#presence-topic", DOCUMENT);
    await viewer.check("#presence-join");
    await viewer.click("#presence-start");
  }
  await page.waitForFunction(
    () =>
      (
        globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
      ).document.querySelectorAll("#presence-list tr").length === 2,
  );
  await page.locator("#presence").screenshot({ path: `${OUTPUT}presence.png` });

  // Hub: the status polled, deliveries growing between two polls (the page's stream receives them).
  const publisher = await hub.token({ publish: ["*"] });
  let sending = true;
  const growing = (async () => {
    for (let i = 0; sending; i++) {
      await publish(
        hub,
        { topic: "https://example.com/books/1", data: `{"stock":${i % 10}}` },
        { token: publisher },
      );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  await page.waitForFunction(
    () =>
      Number(
        (
          globalThis as unknown as { document: { querySelector(s: string): { textContent: string } } }
        ).document.querySelector("#hub-rate").textContent,
      ) > 0,
  );
  sending = false;
  await growing;
  await page.locator("#hub").screenshot({ path: `${OUTPUT}hub.png` });
  console.log("wrote docs/ui/subscribe.png, publish.png, presence.png, hub.png");
} finally {
  await browser.close();
  await ui.close();
}
