import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium; CI installs it (.ci/run). */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * Launches headless Chromium. A missing binary is a failure, not a skip: CI always installs it,
 * and a skipped browser test would hide that the browser path is untested.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the browser tests need Debian's Chromium (apt-get install -y chromium; .ci/run does it)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export interface PageServer {
  readonly server: Server;
  readonly port: number;
  /** `http://localhost:<port>`: the page's origin as the browser sees it. */
  readonly origin: string;
  close(): Promise<void>;
}

/** A file served beside the page: a script, say. */
export interface ServedFile {
  readonly contentType: string;
  readonly body: string;
}

/**
 * Serves `html` at every path, and `files` at theirs, on 127.0.0.1 and a free port (reached as
 * `localhost`).
 */
export async function servePage(html: string, files: Record<string, ServedFile> = {}): Promise<PageServer> {
  const server = createServer((req, res) => {
    if (req.url === "/favicon.ico") {
      res.writeHead(404).end();
      return;
    }
    const file = req.url === undefined ? undefined : files[req.url];
    if (file !== undefined) {
      res.writeHead(200, { "Content-Type": file.contentType, "Cache-Control": "no-store" });
      res.end(file.body);
      return;
    }
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    origin: `http://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Collects what went wrong inside a page (uncaught exceptions, console errors, failed requests),
 * to put in an assertion's message: a browser test that times out should say why.
 */
export function recordPageTrouble(page: Page): string[] {
  const trouble: string[] = [];
  page.on("pageerror", (error) => trouble.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") trouble.push(`console: ${message.text()}`);
  });
  page.on("requestfailed", (request) =>
    trouble.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText})`),
  );
  return trouble;
}
