/**
 * The hub behind nginx and behind Apache httpd, each configured with the file docs/proxies/
 * documents. The proof that a proxy streams: one small event reaches a subscriber whose stream
 * stays open. A proxy that buffered or compressed the stream would hold it back until its buffer
 * filled or the stream ended, so the test would never see it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { type HubProcess, sharedToken, startHubProcess } from "./helpers/hub-process.ts";
import { freePort, type ProxyKind, type ReverseProxy, startReverseProxy } from "./helpers/reverse-proxy.ts";
import { openStream, subscribeUrl } from "./helpers/sse-client.ts";

const TOPIC = "https://example.com/books/1";
const APP = "https://app.example";
/** What every browser sends: a proxy that compresses what it may would compress the stream. */
const BROWSER_HEADERS = { "Accept-Encoding": "gzip, deflate, br", Accept: "text/event-stream" };

async function publishThrough(hubUrl: string, data: string): Promise<string> {
  const response = await fetch(hubUrl, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${await sharedToken({ publish: ["*"] })}`,
      "Content-Type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ topic: TOPIC, data }),
  });
  const body = await response.text();
  assert.equal(response.status, 200, body);
  return body;
}

for (const kind of ["nginx", "apache"] as const satisfies readonly ProxyKind[]) {
  describe(`behind ${kind}, configured as docs/proxies/${kind}.conf`, () => {
    let hub: HubProcess;
    let proxy: ReverseProxy;
    /** The hub's URL as clients see it: through the proxy. */
    let publicHubUrl: string;

    before(async () => {
      const port = await freePort();
      publicHubUrl = `http://127.0.0.1:${port}/.well-known/mercure`;
      // The hub's own address is chosen here: its log names its public URL, the proxy's.
      const hubAddress = `127.0.0.1:${await freePort()}`;
      hub = await startHubProcess([
        "--listen",
        hubAddress,
        "--transport",
        "memory",
        "--public-url",
        publicHubUrl,
        "--subscriptions",
        "--cors-origins",
        APP,
      ]);
      proxy = await startReverseProxy(kind, port, hubAddress);
    });

    after(async () => {
      // The hub first: it ends the streams Apache still relays (Apache notices a subscriber that
      // left only when it next writes to it, and would hold its stop until then).
      await hub?.stop();
      await proxy?.stop();
    });

    it("delivers one small update to a subscriber whose stream stays open, and its reconnection what it missed", async () => {
      const token = await sharedToken({ subscribe: ["*"] });
      const url = subscribeUrl(publicHubUrl, [["match", TOPIC]]);
      const headers = { ...BROWSER_HEADERS, Authorization: `Bearer ${token}` };
      const stream = await openStream(url, { headers });
      assert.equal(stream.status, 200);
      assert.match(String(stream.headers["content-type"]), /^text\/event-stream/);
      assert.equal(stream.headers["content-encoding"], undefined, "the stream is not compressed");

      const firstId = await publishThrough(publicHubUrl, "first");
      const [first] = await stream.waitForEvents(1);
      assert.equal(first!.data, "first");
      assert.equal(first!.id, firstId);
      stream.close();

      // Published while no one listens: the reconnection asks for what came after the first.
      const missedId = await publishThrough(publicHubUrl, "missed");
      const again = await openStream(url, { headers: { ...headers, "Last-Event-ID": firstId } });
      assert.equal(again.status, 200);
      const [missed] = await again.waitForEvents(1);
      assert.equal(missed!.data, "missed");
      assert.equal(missed!.id, missedId);
      again.close();
    });

    it("passes the subscription API's rel=mercure Link on, naming the public URL", async () => {
      const response = await fetch(`${publicHubUrl}/subscriptions`, {
        headers: { Authorization: `Bearer ${await sharedToken({ subscribe: ["*"] })}` },
      });
      assert.equal(response.status, 200, await response.clone().text());
      await response.text();
      const link = response.headers.get("link") ?? "";
      assert.ok(link.includes(`<${publicHubUrl}>; rel="mercure"`), link);
    });

    it("passes a CORS preflight on, answered by the hub", async () => {
      const response = await fetch(publicHubUrl, {
        method: "OPTIONS",
        headers: {
          Origin: APP,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "authorization,content-type",
        },
      });
      await response.text();
      assert.ok(response.status === 200 || response.status === 204, String(response.status));
      assert.equal(response.headers.get("access-control-allow-origin"), APP);
      assert.equal(response.headers.get("access-control-allow-credentials"), "true");
    });
  });

  describe(`${kind}, configured as docs/proxies/${kind}.conf, tells the hub who the client is`, () => {
    let upstream: Server;
    let proxy: ReverseProxy;
    const received: IncomingHttpHeaders[] = [];

    before(async () => {
      // A stand-in for the hub that notes the headers it gets: the hub takes them only from
      // --trusted-proxies, so what the proxy sends is checked here.
      upstream = createServer((req, res) => {
        received.push(req.headers);
        res.end();
      });
      await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
      const { port } = upstream.address() as { port: number };
      proxy = await startReverseProxy(kind, await freePort(), `127.0.0.1:${port}`);
    });

    after(async () => {
      await proxy?.stop();
      upstream?.closeAllConnections();
      await new Promise((resolve) => upstream?.close(resolve));
    });

    it("sends X-Forwarded-For, X-Forwarded-Proto and Forwarded, replacing the client's Forwarded", async () => {
      const response = await fetch(`${proxy.origin}/.well-known/mercure`, {
        headers: { Forwarded: "for=203.0.113.9", "X-Forwarded-For": "203.0.113.9" },
      });
      await response.text();
      assert.equal(response.status, 200);
      const headers = received.at(-1)!;
      // The chain the client claimed, then the address the proxy saw.
      assert.equal(headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
      assert.equal(headers["x-forwarded-proto"], "http");
      assert.match(String(headers.forwarded), /^for=127\.0\.0\.1;proto=http;host="127\.0\.0\.1(:\d+)?"$/);
    });
  });
}

describe("docs/operations.md", () => {
  it("shows the tested configurations as they are", () => {
    const guide = readFileSync(new URL("../docs/operations.md", import.meta.url), "utf8");
    for (const kind of ["nginx", "apache"]) {
      const config = readFileSync(new URL(`../docs/proxies/${kind}.conf`, import.meta.url), "utf8");
      assert.ok(
        guide.includes(`\`\`\`${kind}\n${config}\`\`\``),
        `docs/operations.md shows docs/proxies/${kind}.conf`,
      );
    }
  });
});
