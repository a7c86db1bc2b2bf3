/**
 * The hub's web page, as the hub serves it (docs/ui.md): its files under {hub}/ui/ with their
 * headers, only the files it knows, its status, and in development mode its tokens, over real
 * sockets, from the library and from `quicksilver serve --dev`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { UiStatus } from "../src/http/ui-status-route.ts";
import { createHubServer, type HubServer } from "../src/server/create-hub-server.ts";
import { startHubProcess } from "./helpers/hub-process.ts";
import { openStream, subscribeUrl } from "./helpers/sse-client.ts";
import { startTestHub, type TestHub } from "./helpers/test-hub.ts";

const HUB_PATH = "/.well-known/mercure";
const UI = `${HUB_PATH}/ui`;
const BIN = fileURLToPath(new URL("../bin/quicksilver.js", import.meta.url));
const DEV_ISSUER = "https://dev.test";
const DEV_KEY = "a-development-secret-long-enough-for-hs256";

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request whose target is sent as written: fetch would resolve dot segments first. */
function raw(
  origin: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawAnswer> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: hostname, port, path, method: init.method ?? "GET", headers: init.headers, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

/** A hub of the library in development mode, minting with a key its issuer trusts. */
function startDevHub(options: { ui?: boolean } = {}): Promise<HubServer> {
  return createHubServer({
    issuers: [{ issuer: DEV_ISSUER, publisher: { key: DEV_KEY }, subscriber: { key: DEV_KEY } }],
    host: "127.0.0.1",
    port: 0,
    anonymous: true,
    dev: true,
    devTokens: { issuer: DEV_ISSUER, key: DEV_KEY },
    shutdownSpreadMs: 0,
    ...options,
  });
}

function originOf(hub: { hubUrl: string }): string {
  return new URL(hub.hubUrl).origin;
}

function devToken(origin: string, body: unknown, contentType = "application/json"): Promise<Response> {
  return fetch(`${origin}${UI}/dev-token`, {
    method: "POST",
    headers: { "Content-Type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("the web page, with --ui", () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({ ui: true });
  });
  after(() => hub.close());

  it("serves the page at {hub}/ui/ with its security headers", async () => {
    const response = await fetch(`${hub.origin}${UI}/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(response.headers.get("cache-control"), "no-cache");
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.equal(response.headers.get("referrer-policy"), "no-referrer");
    assert.match(response.headers.get("etag") ?? "", /^"[A-Za-z0-9_-]+"$/);
    const policy = response.headers.get("content-security-policy") ?? "";
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]) {
      assert.ok(policy.split("; ").includes(directive), `${directive} in ${policy}`);
    }
    assert.match(policy, /(^|; )connect-src 'self'( |;|$)/);
    const html = await response.text();
    assert.match(html, /<title>Quicksilver hub<\/title>/);
    assert.match(html, /<script type="module" src="app.js"><\/script>/);
  });

  it("serves index.html and the script by name, the script without a page policy", async () => {
    const index = await fetch(`${hub.origin}${UI}/index.html`);
    assert.equal(index.status, 200);
    assert.ok(index.headers.get("content-security-policy"));
    await index.body?.cancel();
    const script = await fetch(`${hub.origin}${UI}/app.js`);
    assert.equal(script.status, 200);
    assert.equal(script.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(script.headers.get("x-content-type-options"), "nosniff");
    assert.equal(script.headers.get("content-security-policy"), null);
    await script.body?.cancel();
  });

  it("answers 304 to If-None-Match with the file's ETag, and 200 to another", async () => {
    const first = await fetch(`${hub.origin}${UI}/app.js`);
    const etag = first.headers.get("etag")!;
    await first.body?.cancel();
    const again = await raw(hub.origin, `${UI}/app.js`, { headers: { "If-None-Match": etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body, "");
    assert.equal(again.headers.etag, etag);
    const other = await raw(hub.origin, `${UI}/app.js`, { headers: { "If-None-Match": '"other"' } });
    assert.equal(other.status, 200);
  });

  it("answers HEAD with the headers of GET and no body", async () => {
    const head = await raw(hub.origin, `${UI}/`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.ok(Number(head.headers["content-length"]) > 0);
  });

  it("redirects {hub}/ui to {hub}/ui/", async () => {
    const response = await raw(hub.origin, UI);
    assert.equal(response.status, 302);
    assert.equal(response.headers.location, `${UI}/`);
  });

  it("finds nothing but its own files: traversal, encoded and unknown names are 404", async () => {
    for (const path of [
      `${UI}/../`,
      `${UI}/../../../etc/passwd`,
      `${UI}/%2e%2e/%2e%2e/package.json`,
      `${UI}/.%2E/.%2e/package.json`,
      `${UI}/vendor%2Fclient.js`,
      `${UI}/..%2F..%2Fpackage.json`,
      `${UI}//etc/passwd`,
      `${UI}/%2Fetc%2Fpasswd`,
      `${UI}/..\\..\\package.json`,
      `${UI}\\app.js`,
      `${UI}/app.js/`,
      `${UI}/./app.js`,
      `/x/..${UI}/app.js`,
      `${UI}/package.json`,
      `${UI}/ui-files.ts`,
      `${UI}/index.htm`,
    ]) {
      const response = await raw(hub.origin, path);
      assert.equal(response.status, 404, path);
      assert.equal(JSON.parse(response.body).code, "not_found", path);
    }
  });

  it("refuses other methods on a file with 405 and Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const response = await raw(hub.origin, `${UI}/app.js`, { method, body: "" });
      assert.equal(response.status, 405, method);
      assert.equal(JSON.parse(response.body).code, "method_not_allowed");
      assert.equal(response.headers.allow, "GET, HEAD");
    }
  });

  it("does not redirect / outside development mode, nor serve dev tokens", async () => {
    assert.equal((await raw(hub.origin, "/")).status, 404);
    const response = await devToken(hub.origin, { publish: ["*"] });
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { code: string }).code, "not_found");
  });

  it("answers the status to a token of a configured issuer, and 401 without one", async () => {
    const anonymous = await fetch(`${hub.origin}${UI}/status`);
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { code: string }).code, "token_missing");
    assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Bearer /);

    const forged = await hub.token({ subscribe: ["*"], key: "another-secret-long-enough-for-hs256!!" });
    const refused = await fetch(`${hub.origin}${UI}/status`, {
      headers: { Authorization: `Bearer ${forged}` },
    });
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { code: string }).code, "token_invalid");

    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/a"]]), {
      headers: { Authorization: `Bearer ${await hub.token({ subscribe: ["*"] })}` },
    });
    try {
      const publisher = await hub.token({ publish: ["*"] });
      const published = await fetch(hub.hubUrl, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${publisher}`,
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: "topic=https://example.com/a&data=hello",
      });
      assert.equal(published.status, 200);
      await published.text();
      await stream.waitForEvents(1);

      for (const headers of [
        { Authorization: `Bearer ${publisher}` },
        { Cookie: `__Secure-mercure_access_token=${await hub.token({ subscribe: ["x"] })}` },
      ]) {
        const response = await fetch(`${hub.origin}${UI}/status`, { headers });
        assert.equal(response.status, 200, JSON.stringify(headers));
        assert.equal(response.headers.get("cache-control"), "no-store");
        assert.deepEqual(await response.json(), {
          version: JSON.parse(await readPackage()).version,
          dialects: ["draft-08"],
          transport: "memory",
          historySize: 1,
          subscribers: 1,
          deliveries: 1,
          subscriptions: false,
          hubUrl: hub.hubUrl,
          dev: false,
        });
      }
    } finally {
      stream.close();
    }
  });
});

async function readPackage(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  return readFile(new URL("../package.json", import.meta.url), "utf8");
}

describe("without --ui", () => {
  it("serves no page and no status", async () => {
    const hub = await startTestHub();
    try {
      for (const path of [`${UI}/`, `${UI}/index.html`, `${UI}/status`, UI]) {
        const response = await raw(hub.origin, path);
        assert.equal(response.status, 404, path);
      }
    } finally {
      await hub.close();
    }
  });

  it("not even in development mode, when ui is false: and no dev tokens either", async () => {
    const hub = await startDevHub({ ui: false });
    try {
      assert.equal((await raw(originOf(hub), `${UI}/`)).status, 404);
      assert.equal((await raw(originOf(hub), "/")).status, 404);
      assert.equal((await devToken(originOf(hub), { publish: ["*"] })).status, 404);
    } finally {
      await hub.close();
    }
  });
});

describe("in development mode (the library's dev option)", () => {
  let hub: HubServer;
  let origin: string;
  before(async () => {
    hub = await startDevHub();
    origin = originOf(hub);
  });
  after(() => hub.close());

  it("serves the page by default and leads / to it", async () => {
    assert.equal((await raw(origin, `${UI}/`)).status, 200);
    const root = await raw(origin, "/");
    assert.equal(root.status, 302);
    assert.equal(root.headers.location, `${UI}/`);
  });

  it("answers the status without a token", async () => {
    const response = await fetch(`${origin}${UI}/status`);
    assert.equal(response.status, 200);
    const status = (await response.json()) as UiStatus;
    assert.equal(status.hubUrl, hub.hubUrl);
    assert.equal(status.subscribers, 0);
  });

  it("mints a token that publishes and subscribes as asked, valid an hour", async () => {
    const response = await devToken(origin, {
      publish: ["https://example.com/books/1"],
      subscribe: ["https://example.com/books/1"],
      payload: { user: "dev" },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("cache-control"), "no-store");
    const { token } = (await response.json()) as { token: string };
    const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    assert.equal(claims.iss, DEV_ISSUER);
    assert.equal(claims.exp - claims.iat, 3600);

    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/books/1"]]), {
      headers: { Authorization: `Bearer ${token}` },
    });
    try {
      const published = await fetch(hub.hubUrl, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
        body: "topic=https://example.com/books/1&data=hello&private=on",
      });
      assert.equal(published.status, 200);
      await published.text();
      assert.equal((await stream.waitForEvents(1))[0]!.data, "hello");
    } finally {
      stream.close();
    }
    const elsewhere = await fetch(hub.hubUrl, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: "topic=https://example.com/books/2&data=no",
    });
    assert.equal(elsewhere.status, 403, "only the topics asked for");
    await elsewhere.text();
  });

  it("refuses requests past its bounds or out of shape with dev_token_request_invalid", async () => {
    const topics = (count: number, length = 10) =>
      Array.from({ length: count }, (_, i) => `https://example.com/${String(i).padStart(length, "x")}`);
    const cases: [string, unknown, string?][] = [
      ["33 topics", { publish: topics(33) }],
      ["a topic over 2 KB", { subscribe: [topics(1, 2048)[0]] }],
      ["a payload over 4 KB", { payload: { text: "x".repeat(4100) } }],
      ["an unknown field", { publishUrlPattern: ["*"] }],
      ["a list of another type", { publish: "https://example.com/a" }],
      ["an empty topic", { publish: [""] }],
      ["a payload that is no object", { payload: [1] }],
      ["an array body", [1]],
      ["not JSON", "{"],
      ["another content type", "publish=*", "application/x-www-form-urlencoded"],
    ];
    for (const [name, body, contentType] of cases) {
      const response = await devToken(origin, body, contentType);
      assert.equal(response.status, 400, name);
      assert.equal(((await response.json()) as { code: string }).code, "dev_token_request_invalid", name);
    }
    const accepted = await devToken(origin, { publish: topics(32), subscribe: [topics(1, 2000)[0]] });
    assert.equal(accepted.status, 200, "32 topics, each within 2 KB");
    await accepted.body?.cancel();
  });

  it("refuses a body larger than its bound with body_too_large, and other methods with 405", async () => {
    const response = await devToken(origin, JSON.stringify({ publish: ["x".repeat(300 * 1024)] }));
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { code: string }).code, "body_too_large");
    const get = await fetch(`${origin}${UI}/dev-token`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    await get.body?.cancel();
  });
});

/** `quicksilver serve --dev` with no key of its own: the generated one mints the page's tokens. */
function startDevProcess(
  env: Record<string, string> = {},
): Promise<{ hubUrl: string; output: () => string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    [BIN, "serve", "--dev", "--listen", "127.0.0.1:0", "--log-format", "json", "--shutdown-spread", "0"],
    {
      env: {
        PATH: process.env.PATH ?? "",
        XDG_DATA_HOME: mkdtempSync(join(tmpdir(), "quicksilver-data-")),
        ...env,
      },
    },
  );
  let output = "";
  child.stderr!.on("data", (chunk) => {
    output += chunk;
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk) => {
      output += chunk;
      const line = output.split("\n").find((l) => l.includes('"hub listening"'));
      if (line === undefined) return;
      resolve({
        hubUrl: JSON.parse(line).hubUrl,
        output: () => output,
        stop: () => {
          const exited = new Promise<void>((done) => child.once("close", () => done()));
          child.kill("SIGTERM");
          return exited;
        },
      });
    });
    child.once("close", (code) => reject(new Error(`serve exited with ${code}: ${output}`)));
  });
}

describe("quicksilver serve --dev", () => {
  it("serves the page, leads / to it, and mints working tokens it never logs", async () => {
    const hub = await startDevProcess();
    try {
      const origin = originOf(hub);
      assert.equal((await raw(origin, `${UI}/`)).status, 200);
      assert.equal((await raw(origin, "/")).headers.location, `${UI}/`);
      const status = (await (await fetch(`${origin}${UI}/status`)).json()) as UiStatus;
      assert.equal(status.transport, "sqlite");
      assert.equal(status.historySize, 0);

      const response = await devToken(origin, { publish: ["https://example.com/a"] });
      assert.equal(response.status, 200);
      const { token } = (await response.json()) as { token: string };
      const published = await fetch(hub.hubUrl, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
        body: "topic=https://example.com/a&data=hello",
      });
      assert.equal(published.status, 200);
      await published.text();
      const after = (await (await fetch(`${origin}${UI}/status`)).json()) as UiStatus;
      assert.equal(after.historySize, 1);
      assert.ok(!hub.output().includes(token), "the token is not logged");
      assert.ok(hub.output().includes(`Web page: ${origin}${UI}/\n`), "the banner gives the page's address");
    } finally {
      await hub.stop();
    }
  });

  it("serves no page, no redirect and no tokens with MERCURE_UI=0", async () => {
    const hub = await startDevProcess({ MERCURE_UI: "0" });
    try {
      const origin = originOf(hub);
      assert.equal((await raw(origin, `${UI}/`)).status, 404);
      assert.equal((await raw(origin, "/")).status, 404);
      assert.equal((await devToken(origin, { publish: ["*"] })).status, 404);
      assert.ok(!hub.output().includes("Web page:"));
    } finally {
      await hub.stop();
    }
  });

  it("serves no page without --dev or --ui, and one with MERCURE_UI", async () => {
    const plain = await startHubProcess([]);
    try {
      const origin = originOf(plain);
      assert.equal((await raw(origin, `${UI}/`)).status, 404);
      assert.equal((await raw(origin, "/")).status, 404);
    } finally {
      await plain.stop();
    }
    const env = await startHubProcess([], { MERCURE_UI: "1" });
    try {
      assert.equal((await raw(originOf(env), `${UI}/`)).status, 200, "MERCURE_UI turns it on");
      assert.equal((await devToken(originOf(env), {})).status, 404, "no dev tokens outside --dev");
    } finally {
      await env.stop();
    }
  });
});
