import assert from "node:assert/strict";
import { connect, createServer, type IncomingHttpHeaders } from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { mintToken } from "../src/auth/mint.ts";
import { OriginAllowlist } from "../src/http/cors.ts";
import { DEFAULT_LIMITS } from "../src/http/options.ts";
import { MAX_REQUEST_ID_LENGTH } from "../src/http/request-id.ts";
import { createContext, createRequestHandler } from "../src/http/router.ts";
import { Hub } from "../src/hub/hub.ts";
import { MemoryTransport } from "../src/transports/memory.ts";
import { type CapturedLog, captureLog, type LogEntry } from "./helpers/captured-log.ts";
import { openStream, subscribeUrl } from "./helpers/sse-client.ts";
import { ISSUER, publish, SECRET, startTestHub, type TestHub, testVerifier } from "./helpers/test-hub.ts";

const TOPIC = "https://example.com/books/1";
/** What the hub generates: its process's random part, then a counter. */
const GENERATED = /^[0-9a-f]{12}-[0-9a-z]+$/;

const byId = (message: string, requestId: string) => (entry: LogEntry) =>
  entry.message === message && entry.fields.requestId === requestId;

describe("request ids", () => {
  let hub: TestHub;
  let log: CapturedLog;
  let token: string;
  before(async () => {
    log = captureLog();
    hub = await startTestHub({ anonymous: true }, log.logger);
    token = await hub.token({ publish: ["*"] });
  });
  after(() => hub.close());

  it("echoes a client's id on a publish and logs the publish under it", async () => {
    const answer = await publish(
      hub,
      { topic: TOPIC, data: "x" },
      { token, headers: { "X-Request-Id": "req-42" } },
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.headers.get("x-request-id"), "req-42");
    const line = await log.waitFor(byId("update published", "req-42"));
    assert.equal(line.level, "info");
    assert.equal(line.fields.update, answer.body);
    assert.equal(line.fields.topics, 1);
    assert.equal(line.fields.private, false);
    assert.equal(line.fields.bytes, 1);
    assert.equal(line.fields.status, 200);
    assert.equal(typeof line.fields.durationMs, "number");
  });

  it("replaces an id too long or with characters outside its set, and generates one otherwise", async () => {
    const given = ["a b", 'a"b', "<script>", "x".repeat(MAX_REQUEST_ID_LENGTH + 1), ""];
    const seen = new Set<string>();
    for (const id of given) {
      const answer = await publish(
        hub,
        { topic: TOPIC, data: "x" },
        { token, headers: { "X-Request-Id": id } },
      );
      const echoed = answer.headers.get("x-request-id") ?? "";
      assert.match(echoed, GENERATED, `${JSON.stringify(id)} was replaced`);
      seen.add(echoed);
    }
    const none = await publish(hub, { topic: TOPIC, data: "x" }, { token });
    assert.match(none.headers.get("x-request-id") ?? "", GENERATED);
    seen.add(none.headers.get("x-request-id")!);
    assert.equal(seen.size, given.length + 1, "every request got an id of its own");
    // The longest id and every character of the set are taken as they are.
    const longest = `Az09._:+/=-${"x".repeat(MAX_REQUEST_ID_LENGTH - 11)}`;
    const kept = await publish(
      hub,
      { topic: TOPIC, data: "x" },
      { token, headers: { "X-Request-Id": longest } },
    );
    assert.equal(kept.headers.get("x-request-id"), longest);
  });

  it("echoes the id on a refusal and logs the refusal's code and status under it", async () => {
    const answer = await publish(
      hub,
      { topic: TOPIC, data: "x" },
      { headers: { "X-Request-Id": "refused-1" } },
    );
    assert.equal(answer.status, 401);
    assert.equal(answer.headers.get("x-request-id"), "refused-1");
    const line = await log.waitFor(byId("request refused", "refused-1"));
    assert.equal(line.fields.code, "token_missing");
    assert.equal(line.fields.status, 401);
    assert.equal(line.fields.path, "/.well-known/mercure");
    const notFound = await fetch(`${hub.origin}/nothing?authorization=x`);
    assert.match(notFound.headers.get("x-request-id") ?? "", GENERATED);
    const missing = await log.waitFor(byId("request refused", notFound.headers.get("x-request-id")!));
    assert.equal(missing.fields.path, "/nothing", "the path only, never the query");
  });

  it("echoes the id on a stream's head and logs its opening and closing under it", async () => {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", TOPIC]]), {
      headers: { Accept: "text/event-stream", "X-Request-Id": "stream-7" },
    });
    assert.equal(stream.status, 200);
    assert.equal(stream.headers["x-request-id"], "stream-7");
    const opened = await log.waitFor(byId("stream opened", "stream-7"));
    assert.equal(opened.fields.matchers, 1);
    assert.equal(opened.fields.replayed, false);
    assert.equal(opened.fields.client, "127.0.0.1");
    assert.match(String(opened.fields.subscriber), /^urn:uuid:/);
    await publish(hub, { topic: TOPIC, data: "hello" }, { token });
    await stream.waitForEvents(1);
    stream.close();
    const closed = await log.waitFor(byId("stream closed", "stream-7"));
    assert.equal(closed.fields.subscriber, opened.fields.subscriber);
    assert.equal(closed.fields.reason, "client_left");
    assert.equal(closed.fields.events, 1);
    assert.ok((closed.fields.bytes as number) > "data: hello\n\n".length);
  });
});

describe("request ids over HTTP/2", () => {
  it("echoes a client's id on a publish, a refusal and a stream, and generates one otherwise", async () => {
    const log = captureLog();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const hubUrl = `${origin}/.well-known/mercure`;
    const verifier = await testVerifier(hubUrl);
    const hub = new Hub(new MemoryTransport({ historySize: 10 }), {
      heartbeatMs: 30_000,
      writeTimeoutMs: 10_000,
      maxLifetimeMs: 3_600_000,
      maxQueueBytes: 4 * 1024 * 1024,
      logger: log.logger,
      requestLogLevel: "info",
    });
    const context = createContext(hub, verifier, {
      hubUrl,
      resourceIdentifier: hubUrl,
      anonymous: true,
      corsOrigins: new OriginAllowlist([]),
      publishOrigins: new OriginAllowlist([]),
      cookieName: "mercureAuthorization",
      legacy: false,
      authorizationServers: [],
      limits: DEFAULT_LIMITS,
      logger: log.logger,
      requestLogLevel: "info",
    });
    server.on("request", createRequestHandler(context));
    const session = connect(origin);
    const head = (headers: Record<string, string>, body?: string) =>
      new Promise<IncomingHttpHeaders>((resolve, reject) => {
        const stream = session.request(headers);
        stream.once("response", resolve);
        stream.once("error", reject);
        stream.resume();
        stream.end(body);
      });
    try {
      const token = await mintToken({ issuer: ISSUER, audience: hubUrl, key: SECRET, publish: ["*"] });
      const form = new URLSearchParams({ topic: TOPIC, data: "x" }).toString();
      const post = (extra: Record<string, string>) =>
        head(
          {
            ":method": "POST",
            ":path": "/.well-known/mercure",
            "content-type": "application/x-www-form-urlencoded",
            ...extra,
          },
          form,
        );

      const published = await post({ authorization: `Bearer ${token}`, "x-request-id": "h2-publish" });
      assert.equal(published[":status"], 200);
      assert.equal(published["x-request-id"], "h2-publish");
      await log.waitFor(byId("update published", "h2-publish"));

      const refused = await post({ "x-request-id": "h2-refused" });
      assert.equal(refused[":status"], 401);
      assert.equal(refused["x-request-id"], "h2-refused");
      await log.waitFor(byId("request refused", "h2-refused"));

      const generated = await post({ authorization: `Bearer ${token}`, "x-request-id": "no spaces allowed" });
      assert.match(String(generated["x-request-id"]), GENERATED);

      const stream = await head({
        ":method": "GET",
        ":path": `/.well-known/mercure?match=${encodeURIComponent(TOPIC)}`,
        accept: "text/event-stream",
        "x-request-id": "h2-stream",
      });
      assert.equal(stream[":status"], 200);
      assert.equal(stream["x-request-id"], "h2-stream");
      await log.waitFor(byId("stream opened", "h2-stream"));
    } finally {
      session.destroy();
      await hub.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("the request log level", () => {
  for (const level of ["debug", "warn", "off"] as const) {
    it(`writes the lines of a publish, a refusal and a stream at ${level}`, async () => {
      const log = captureLog();
      const hub = await startTestHub({ anonymous: true, "request-log-level": level }, log.logger);
      try {
        const token = await hub.token({ publish: ["*"] });
        const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", TOPIC]]), {
          headers: { Accept: "text/event-stream" },
        });
        assert.equal((await publish(hub, { topic: TOPIC, data: "x" }, { token })).status, 200);
        assert.equal((await publish(hub, { topic: TOPIC, data: "x" })).status, 401);
        await stream.waitForEvents(1);
        stream.close();
        // Its closing line is logged by then, whether the hub saw the client leave or ended the stream.
        await hub.close();
        const lines = log.entries.filter((entry) => "requestId" in entry.fields);
        const messages = lines.map((entry) => entry.message).sort();
        if (level === "off") assert.deepEqual(messages, []);
        else {
          assert.deepEqual(messages, [
            "request refused",
            "stream closed",
            "stream opened",
            "update published",
          ]);
          assert.ok(lines.every((entry) => entry.level === level));
        }
      } finally {
        await hub.close();
      }
    });
  }
});
