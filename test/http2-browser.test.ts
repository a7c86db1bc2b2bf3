/**
 * A real browser and many streams: the six-connection trap of HTTP/1.1 and how HTTP/2 avoids it.
 *
 * A browser opens at most six HTTP/1.1 connections to one origin, and an EventSource holds its
 * connection for as long as it lives: the seventh stream (in this page or in any other tab of the
 * same origin) waits, CONNECTING, until one closes. Over HTTP/2 every stream shares one
 * connection, up to the server's SETTINGS_MAX_CONCURRENT_STREAMS (--max-streams-per-connection).
 * The page is served from an origin of its own, so that its own connections take none of the
 * hub's six.
 */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { connect } from "node:http2";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium, type PageServer, recordPageTrouble, servePage } from "./helpers/browser.ts";
import { type CertificateDir, certificateDir } from "./helpers/certificate.ts";
import { h2Publish } from "./helpers/h2-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

const TOPIC = "https://example.com/many";
const STREAMS = 20;
/** Chromium's limit of HTTP/1.1 connections to one origin (as every browser's since 2010). */
const HTTP1_CONNECTIONS_PER_ORIGIN = 6;

/** Opens `?count=` EventSources to `?hub=`, and records each one's state in `window.streams`. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Quicksilver many streams</title>
<script>
  const params = new URLSearchParams(location.search);
  const hub = params.get("hub");
  const count = Number(params.get("count"));
  window.streams = [];
  for (let i = 0; i < count; i++) {
    const entry = { opened: false, received: [] };
    const source = new EventSource(hub + "&stream=" + i);
    entry.source = source;
    source.onopen = () => { entry.opened = true; };
    source.onmessage = (event) => { entry.received.push(event.data); };
    window.streams.push(entry);
  }
</script>
`;

/** The page's globals as the functions run in the browser see them (no DOM library here). */
interface PageGlobals {
  streams: { opened: boolean; received: string[]; source: { readyState: number } }[];
}

async function streamsState(
  page: Page,
): Promise<{ opened: number; readyStates: number[]; received: string[][] }> {
  return page.evaluate(() => {
    const { streams } = globalThis as unknown as PageGlobals;
    return {
      opened: streams.filter((s) => s.opened).length,
      readyStates: streams.map((s) => s.source.readyState),
      received: streams.map((s) => [...s.received]),
    };
  });
}

/** Resolves once `count` of the page's streams are open. */
function waitForOpen(page: Page, count: number): Promise<unknown> {
  return page.waitForFunction(
    (n) => (globalThis as unknown as PageGlobals).streams.filter((s) => s.opened).length >= n,
    count,
  );
}

/** Resolves once `count` of the page's streams received `data`. */
function waitForReceived(page: Page, data: string, count: number): Promise<unknown> {
  return page.waitForFunction(
    ([d, n]) =>
      (globalThis as unknown as PageGlobals).streams.filter((s) => s.received.includes(d as string)).length >=
      (n as number),
    [data, count] as const,
  );
}

describe("twenty EventSource streams from one page", { timeout: 60_000 }, () => {
  let certs: CertificateDir;
  let pageServer: PageServer;
  let browser: Browser;
  let context: BrowserContext;

  before(async () => {
    certs = certificateDir();
    pageServer = await servePage(PAGE);
    browser = await launchChromium();
    // The hub's certificate is self-signed for the test.
    context = await browser.newContext({ ignoreHTTPSErrors: true });
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    await pageServer?.close();
    certs?.remove();
  });

  async function openPage(hubUrl: string): Promise<{ page: Page; trouble: string[] }> {
    const page = await context.newPage();
    const trouble = recordPageTrouble(page);
    const hub = `${hubUrl}?${new URLSearchParams({ match: TOPIC })}`;
    await page.goto(`${pageServer.origin}/?${new URLSearchParams({ hub, count: String(STREAMS) })}`);
    return { page, trouble };
  }

  /** A hub the page's origin may read from, anonymous subscribers allowed; its URL as `localhost`. */
  async function startHub(
    flags: Record<string, string | boolean>,
  ): Promise<{ hub: TestHub; hubUrl: string }> {
    const hub = await startTestHub({ anonymous: true, "cors-origins": pageServer.origin, ...flags });
    const url = new URL(hub.hubUrl);
    url.hostname = "localhost";
    return { hub, hubUrl: url.href };
  }

  it("over HTTPS, every stream opens over HTTP/2 and receives the update", async () => {
    const certificate = certs.generate("hub");
    const { hub, hubUrl } = await startHub({ cert: certificate.certFile, key: certificate.keyFile });
    // The protocol each subscribe request came over, as the hub saw it.
    const versions: string[] = [];
    hub.server.on("request", (req: IncomingMessage) => {
      if (req.method === "GET") versions.push(req.httpVersion);
    });
    const { page, trouble } = await openPage(hubUrl);
    try {
      await waitForOpen(page, STREAMS);
      const publisher = connect(new URL(hub.hubUrl).origin, { ca: certificate.pem });
      const token = await hub.token({ publish: [TOPIC] });
      const path = new URL(hub.hubUrl).pathname;
      const published = await h2Publish(publisher, path, token, { topic: TOPIC, data: "to all twenty" });
      publisher.close();
      assert.equal(published.headers[":status"], 200, published.body);
      await waitForReceived(page, "to all twenty", STREAMS);
      const state = await streamsState(page);
      assert.equal(state.opened, STREAMS, trouble.join("\n"));
      assert.ok(state.received.every((events) => events.includes("to all twenty")));
      assert.equal(hub.hub.connectionCount, STREAMS);
      assert.deepEqual(versions, Array(STREAMS).fill("2.0"));
    } finally {
      await page.close();
      await hub.close();
    }
  });

  it("over plain HTTP/1.1, six streams open and the fourteen others wait, CONNECTING", async () => {
    const { hub, hubUrl } = await startHub({});
    const { page, trouble } = await openPage(hubUrl);
    try {
      await waitForOpen(page, HTTP1_CONNECTIONS_PER_ORIGIN);
      // An update reaches the six open streams; by the time it has, the others are still waiting
      // for a connection, and the hub has seen only six subscribe requests.
      const published = await publish(
        hub,
        { topic: TOPIC, data: "to the six" },
        { token: await hub.token({ publish: [TOPIC] }) },
      );
      assert.equal(published.status, 200, published.body);
      await waitForReceived(page, "to the six", HTTP1_CONNECTIONS_PER_ORIGIN);
      const state = await streamsState(page);
      assert.equal(state.opened, HTTP1_CONNECTIONS_PER_ORIGIN, trouble.join("\n"));
      const connecting = state.readyStates.filter((readyState) => readyState === 0).length;
      assert.equal(connecting, STREAMS - HTTP1_CONNECTIONS_PER_ORIGIN);
      assert.equal(hub.hub.connectionCount, HTTP1_CONNECTIONS_PER_ORIGIN);
    } finally {
      await page.close();
      await hub.close();
    }
  });
});
