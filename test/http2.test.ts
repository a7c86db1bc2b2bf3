import assert from "node:assert/strict";
import {
  type ClientHttp2Session,
  connect,
  constants,
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { mintToken } from "../src/auth/mint.ts";
import { OriginAllowlist } from "../src/http/cors.ts";
import { DEFAULT_LIMITS } from "../src/http/options.ts";
import { createContext, createRequestHandler } from "../src/http/router.ts";
import { Hub } from "../src/hub/hub.ts";
import { MemoryTransport } from "../src/transports/memory.ts";
import { h2Exchange, h2Publish, h2Subscribe } from "./helpers/h2-client.ts";
import { ISSUER, SECRET, testVerifier } from "./helpers/test-hub.ts";

const HUB_PATH = "/.well-known/mercure";

/** A hub built from the library's parts, served over cleartext HTTP/2 (h2c) on port 0. */
interface H2Hub {
  readonly hub: Hub;
  readonly server: Http2Server;
  readonly origin: string;
  token(grants: { publish?: string[]; subscribe?: string[] }): Promise<string>;
  close(): Promise<void>;
}

async function startH2Hub(
  options: { anonymous?: boolean; maxQueueBytes?: number; writeTimeoutMs?: number; now?: () => number } = {},
): Promise<H2Hub> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const hubUrl = `${origin}${HUB_PATH}`;
  const verifier = await testVerifier(hubUrl);
  const hub = new Hub(new MemoryTransport({ historySize: 100 }), {
    heartbeatMs: 30_000,
    writeTimeoutMs: options.writeTimeoutMs ?? 10_000,
    maxLifetimeMs: 3_600_000,
    maxQueueBytes: options.maxQueueBytes ?? 4 * 1024 * 1024,
  });
  const context = createContext(
    hub,
    verifier,
    {
      hubUrl,
      resourceIdentifier: hubUrl,
      anonymous: options.anonymous ?? false,
      corsOrigins: new OriginAllowlist([]),
      publishOrigins: new OriginAllowlist([]),
      cookieName: "mercureAuthorization",
      legacy: false,
      authorizationServers: [],
      limits: DEFAULT_LIMITS,
    },
    options.now === undefined ? {} : { now: options.now },
  );
  server.on("request", createRequestHandler(context));

  return {
    hub,
    server,
    origin,
    token: (grants) => mintToken({ issuer: ISSUER, audience: hubUrl, key: SECRET, ...grants }),
    async close() {
      await hub.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A publish on the session, to the hub path. */
function publishOver(session: ClientHttp2Session, token: string, fields: Record<string, string>) {
  return h2Publish(session, HUB_PATH, token, fields);
}

/** A subscriber stream on the session, with the hub path's query. */
function subscribeOver(session: ClientHttp2Session, query: string, headers: OutgoingHttpHeaders = {}) {
  return h2Subscribe(session, `${HUB_PATH}?${query}`, headers);
}

describe("the hub over HTTP/2 (h2c)", () => {
  let h2: H2Hub;
  let session: ClientHttp2Session;

  before(async () => {
    h2 = await startH2Hub({ anonymous: true });
    session = connect(h2.origin);
  });
  after(async () => {
    session.close();
    await h2.close();
  });

  it("streams an update published over HTTP/2, with no HTTP/1 connection headers", async () => {
    const token = await h2.token({ publish: ["https://example.com/books/1"] });
    const subscriber = subscribeOver(session, "match=https://example.com/books/1");
    const headers = await subscriber.headers;
    assert.equal(headers[":status"], 200);
    assert.equal(headers["content-type"], "text/event-stream");
    assert.equal(headers.connection, undefined);
    assert.equal(headers["transfer-encoding"], undefined);

    const published = await publishOver(session, token, {
      topic: "https://example.com/books/1",
      data: "first",
    });
    assert.equal(published.headers[":status"], 200);
    assert.equal(published.headers.connection, undefined);
    const [event] = await subscriber.waitForEvents(1);
    assert.equal(event!.data, "first");
    assert.equal(event!.id, published.body);
    subscriber.stream.close();
  });

  it("answers a reconnection with Mercure-Last-Event-ID and replays what followed the cursor", async () => {
    const token = await h2.token({ publish: ["https://example.com/replay"] });
    const topic = "https://example.com/replay";
    const first = await publishOver(session, token, { topic, data: "one" });
    await publishOver(session, token, { topic, data: "two" });
    const subscriber = subscribeOver(session, `match=${topic}`, { "last-event-id": first.body });
    const headers = await subscriber.headers;
    assert.equal(headers["mercure-last-event-id"], first.body);
    const [event] = await subscriber.waitForEvents(1);
    assert.equal(event!.data, "two");
    subscriber.stream.close();
  });

  it("refuses with a problem document and its challenge, over HTTP/2 too", async () => {
    const closedHub = await startH2Hub({ anonymous: false });
    const client = connect(closedHub.origin);
    try {
      const answer = await h2Exchange(client, {
        ":path": `${HUB_PATH}?match=https://example.com/a`,
        accept: "text/event-stream",
      });
      assert.equal(answer.headers[":status"], 401);
      assert.equal(answer.headers["content-type"], "application/problem+json");
      assert.match(String(answer.headers["www-authenticate"]), /^Bearer resource_metadata=/);
      assert.equal(answer.headers.connection, undefined);
      assert.equal((JSON.parse(answer.body) as { code: string }).code, "token_missing");
    } finally {
      client.close();
      await closedHub.close();
    }
  });
});

describe("HTTP/2 streams end and fail on their own", () => {
  it("ends a stream cleanly when the hub closes", async () => {
    const h2 = await startH2Hub({ anonymous: true });
    const session = connect(h2.origin);
    try {
      const subscriber = subscribeOver(session, "match=https://example.com/a");
      assert.equal((await subscriber.headers)[":status"], 200);
      await h2.hub.close();
      assert.deepEqual(await subscriber.closed, { ended: true, rstCode: constants.NGHTTP2_NO_ERROR });
    } finally {
      session.close();
      await h2.close();
    }
  });

  it("cuts a stream that does not take its end within the grace, when the hub closes", async () => {
    const h2 = await startH2Hub({ anonymous: true, writeTimeoutMs: 200 });
    const session = connect(h2.origin);
    try {
      const token = await h2.token({ publish: ["https://example.com/stalled"] });
      const stalled = subscribeOver(session, "match=https://example.com/stalled");
      await stalled.headers;
      stalled.stream.pause();
      // More than its flow-control window: the end of the stream cannot reach it.
      for (let i = 0; i < 4; i++) {
        await publishOver(session, token, {
          topic: "https://example.com/stalled",
          data: "x".repeat(32 * 1024),
        });
      }
      await h2.hub.close();
      assert.deepEqual(await stalled.closed, { ended: false, rstCode: constants.NGHTTP2_CANCEL });
      assert.equal(session.closed, false);
    } finally {
      session.close();
      await h2.close();
    }
  });

  it("drops a stalled stream without disturbing another stream of the same session", async () => {
    const maxQueueBytes = 256 * 1024;
    const h2 = await startH2Hub({ anonymous: true, maxQueueBytes });
    const session = connect(h2.origin);
    try {
      const token = await h2.token({ publish: ["https://example.com/slow", "https://example.com/fast"] });
      const stalled = subscribeOver(session, "match=https://example.com/slow");
      const reading = subscribeOver(session, "match=https://example.com/fast");
      await Promise.all([stalled.headers, reading.headers]);
      // It reads nothing more: its flow-control window closes, and the hub's queue for it grows.
      stalled.stream.pause();
      const data = "x".repeat(32 * 1024);
      let outcome: { ended: boolean; rstCode: number } | undefined;
      void stalled.closed.then((closed) => {
        outcome = closed;
      });
      // Far more than the window, the stream's buffer and the queue together can hold.
      for (let i = 0; i < 200 && outcome === undefined; i++) {
        await publishOver(session, token, { topic: "https://example.com/slow", data });
      }
      assert.deepEqual(await stalled.closed, { ended: false, rstCode: constants.NGHTTP2_CANCEL });

      const published = await publishOver(session, token, {
        topic: "https://example.com/fast",
        data: "still here",
      });
      assert.equal(published.headers[":status"], 200);
      const [event] = await reading.waitForEvents(1);
      assert.equal(event!.data, "still here");
      assert.equal(session.closed, false);
      reading.stream.close();
    } finally {
      session.close();
      await h2.close();
    }
  });
});

describe("the context's clock", () => {
  it("refuses a stream whose token has expired by the hub's clock, though the verifier accepted it", async () => {
    // Two hours ahead: the token, valid for one, has expired by the clock the routes read.
    const h2 = await startH2Hub({ now: () => Date.now() + 2 * 3_600_000 });
    const session = connect(h2.origin);
    try {
      const token = await mintToken({
        issuer: ISSUER,
        audience: `${h2.origin}${HUB_PATH}`,
        key: SECRET,
        subscribe: ["https://example.com/a"],
        ttlSeconds: 3600,
      });
      // The answer's head only: had the token been accepted, this would be a stream that never ends.
      const stream = session.request({
        ":path": `${HUB_PATH}?match=https://example.com/a`,
        accept: "text/event-stream",
        authorization: `Bearer ${token}`,
      });
      const headers = await new Promise<IncomingHttpHeaders>((resolve) => stream.once("response", resolve));
      stream.resume();
      if (Number(headers[":status"]) === 401) await new Promise((resolve) => stream.once("end", resolve));
      else stream.close();
      assert.equal(headers[":status"], 401);
      assert.match(String(headers["www-authenticate"]), /error="invalid_token"/);
    } finally {
      session.close();
      await h2.close();
    }
  });
});
