import assert from "node:assert/strict";
import { once } from "node:events";
import { copyFileSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { type ClientHttp2Session, connect as connectH2, constants } from "node:http2";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect as connectTls, type TLSSocket } from "node:tls";
import { mintToken } from "../src/auth/mint.ts";
import { type SseEvent, SseParser } from "../src/protocol/sse-parser.ts";
import { createHubServer } from "../src/server/create-hub-server.ts";
import { UsageError } from "../src/server/usage-error.ts";
import { type CertificateDir, certificateDir, type TestCertificate } from "./helpers/certificate.ts";
import { h2Exchange, h2Publish, h2Subscribe } from "./helpers/h2-client.ts";
import { startHubProcess } from "./helpers/hub-process.ts";
import { ISSUER, SECRET, startTestHub, type TestHub } from "./helpers/test-hub.ts";

const HUB_PATH = "/.well-known/mercure";
const TOPIC = "https://example.com/books/1";

let certs: CertificateDir;
let first: TestCertificate;

before(() => {
  certs = certificateDir();
  first = certs.generate("first");
});
after(() => certs.remove());

/** The hub's https://127.0.0.1:<port> origin. */
function originOf(hub: { hubUrl: string }): string {
  return new URL(hub.hubUrl).origin;
}

/** What node:https passes on to TLS: an HTTP/1.1 client that offers http/1.1 by ALPN, as browsers of old do. */
function http1Options(ca: Buffer, headers?: Record<string, string>, method = "GET"): RequestOptions {
  return { method, headers, ca, agent: false, ALPNProtocols: ["http/1.1"] } as RequestOptions;
}

/** An HTTPS request over HTTP/1.1, answered in full. */
function http1Exchange(
  url: string,
  ca: Buffer,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: IncomingMessage["headers"]; body: string; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, http1Options(ca, options.headers, options.method), (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          protocol: `HTTP/${res.httpVersion} ${(res.socket as TLSSocket).alpnProtocol}`,
        }),
      );
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

function http1Publish(hubUrl: string, ca: Buffer, token: string, fields: Record<string, string>) {
  return http1Exchange(hubUrl, ca, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: `Bearer ${token}` },
    body: new URLSearchParams(fields).toString(),
  });
}

/** A subscriber stream over HTTPS and HTTP/1.1: resolves with its protocol and first event. */
function http1FirstEvent(
  url: string,
  ca: Buffer,
): { opened: Promise<string>; event: Promise<SseEvent>; close(): void } {
  let close = () => {};
  let opened!: (protocol: string) => void;
  const openedPromise = new Promise<string>((resolve) => {
    opened = resolve;
  });
  const event = new Promise<SseEvent>((resolve, reject) => {
    const req = httpsRequest(url, http1Options(ca, { Accept: "text/event-stream" }), (res) => {
      opened(`HTTP/${res.httpVersion} ${(res.socket as TLSSocket).alpnProtocol}`);
      const parser = new SseParser({ onEvent: resolve });
      res.on("data", (chunk: Buffer) => parser.push(chunk));
      res.on("error", () => {});
    });
    req.on("error", reject);
    req.end();
    close = () => req.destroy();
  });
  return { opened: openedPromise, event, close };
}

/** The certificate a new TLS connection to `port` is shown. */
async function servedFingerprint(port: number, ca: Buffer[]): Promise<string> {
  const socket = connectTls({ host: "127.0.0.1", port, servername: "localhost", ca, ALPNProtocols: ["h2"] });
  await once(socket, "secureConnect");
  const fingerprint = socket.getPeerCertificate().fingerprint256;
  socket.destroy();
  return fingerprint;
}

function h2Session(origin: string, ca: Buffer | Buffer[]): ClientHttp2Session {
  const session = connectH2(origin, { ca });
  session.on("error", () => {});
  return session;
}

async function startTlsHub(flags: Record<string, string | boolean> = {}): Promise<TestHub> {
  return startTestHub({ anonymous: true, cert: first.certFile, key: first.keyFile, ...flags });
}

describe("HTTPS: HTTP/2 and HTTP/1.1 on one port", () => {
  let hub: TestHub;
  let session: ClientHttp2Session;

  before(async () => {
    hub = await startTlsHub();
    session = h2Session(originOf(hub), first.pem);
  });
  after(async () => {
    session.close();
    await hub.close();
  });

  it("has an https:// hub URL", () => {
    assert.match(hub.hubUrl, /^https:\/\/127\.0\.0\.1:\d+\/\.well-known\/mercure$/);
  });

  it("delivers an update published over HTTP/1.1 to a subscriber over HTTP/2", async () => {
    const token = await hub.token({ publish: [TOPIC] });
    const subscriber = h2Subscribe(session, `${HUB_PATH}?match=${TOPIC}`);
    assert.equal((await subscriber.headers)[":status"], 200);
    assert.equal(session.alpnProtocol, "h2");
    const published = await http1Publish(hub.hubUrl, first.pem, token, { topic: TOPIC, data: "over h1" });
    assert.equal(published.status, 200);
    assert.equal(published.protocol, "HTTP/1.1 http/1.1");
    const [event] = await subscriber.waitForEvents(1);
    assert.equal(event!.data, "over h1");
    assert.equal(event!.id, published.body);
    subscriber.stream.close();
  });

  it("delivers an update published over HTTP/2 to a subscriber over HTTP/1.1", async () => {
    const token = await hub.token({ publish: [TOPIC] });
    const subscriber = http1FirstEvent(`${hub.hubUrl}?match=${TOPIC}`, first.pem);
    assert.equal(await subscriber.opened, "HTTP/1.1 http/1.1");
    const published = await h2Publish(session, HUB_PATH, token, { topic: TOPIC, data: "over h2" });
    assert.equal(published.headers[":status"], 200);
    const event = await subscriber.event;
    assert.equal(event.data, "over h2");
    subscriber.close();
  });

  it("advertises the stream bound and the header list size in its HTTP/2 settings", async () => {
    const bounded = await startTlsHub({ "max-streams-per-connection": "7" });
    const client = h2Session(originOf(bounded), first.pem);
    try {
      const [settings] = (await once(client, "remoteSettings")) as [
        { maxConcurrentStreams: number; maxHeaderListSize: number },
      ];
      assert.equal(settings.maxConcurrentStreams, 7);
      assert.equal(settings.maxHeaderListSize, 16 * 1024);
      // Node's client keeps a stream past the bound pending until another closes: seven open.
      const streams = Array.from({ length: 7 }, () =>
        h2Subscribe(client, `${HUB_PATH}?match=https://example.com/bounded`),
      );
      for (const s of streams) assert.equal((await s.headers)[":status"], 200);
      for (const s of streams) s.stream.close();
    } finally {
      client.close();
      await bounded.close();
    }
  });
});

describe("the hub's delivery guarantees over HTTP/2 and TLS", () => {
  it("drops a slow HTTP/2 consumer once its queue is full, and another stream of its session goes on", async () => {
    const maxQueueBytes = 256 * 1024;
    const hub = await startTlsHub({ "max-queue-bytes": String(maxQueueBytes), "max-body-bytes": "65536" });
    const session = h2Session(originOf(hub), first.pem);
    try {
      const token = await hub.token({ publish: ["https://example.com/slow", "https://example.com/fast"] });
      const stalled = h2Subscribe(session, `${HUB_PATH}?match=https://example.com/slow`);
      const reading = h2Subscribe(session, `${HUB_PATH}?match=https://example.com/fast`);
      await Promise.all([stalled.headers, reading.headers]);
      // It reads nothing more: its flow-control window shuts, and the hub's queue for it grows.
      stalled.stream.pause();
      let outcome: { ended: boolean; rstCode: number } | undefined;
      void stalled.closed.then((closed) => {
        outcome = closed;
      });
      const data = "x".repeat(32 * 1024);
      let published = 0;
      // Far more than the window, the stream's buffer and the queue can hold together.
      while (outcome === undefined && published < 200) {
        await h2Publish(session, HUB_PATH, token, { topic: "https://example.com/slow", data });
        published++;
      }
      assert.deepEqual(await stalled.closed, { ended: false, rstCode: constants.NGHTTP2_CANCEL });
      assert.ok(published < 200, "the slow consumer was never dropped");
      const answer = await h2Publish(session, HUB_PATH, token, {
        topic: "https://example.com/fast",
        data: "still here",
      });
      assert.equal(answer.headers[":status"], 200);
      const [event] = await reading.waitForEvents(1);
      assert.equal(event!.data, "still here");
      assert.equal(session.closed, false);
    } finally {
      session.close();
      await hub.close();
    }
  });
});

describe("cleartext HTTP/2 (--h2c)", () => {
  it("serves HTTP/2 with prior knowledge and HTTP/1.1 on one port", async () => {
    const hub = await startTestHub({ anonymous: true, h2c: true });
    const session = connectH2(hub.origin);
    try {
      assert.match(hub.hubUrl, /^http:\/\//);
      const token = await hub.token({ publish: [TOPIC] });
      const subscriber = h2Subscribe(session, `${HUB_PATH}?match=${TOPIC}`);
      assert.equal((await subscriber.headers)[":status"], 200);
      const published = await fetch(hub.hubUrl, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: `Bearer ${token}` },
        body: new URLSearchParams({ topic: TOPIC, data: "from HTTP/1.1" }),
      });
      assert.equal(published.status, 200);
      const [event] = await subscriber.waitForEvents(1);
      assert.equal(event!.data, "from HTTP/1.1");
      const health = await h2Exchange(session, { ":path": "/healthz" });
      assert.equal(health.headers[":status"], 200);
      subscriber.stream.close();
    } finally {
      session.close();
      await hub.close();
    }
  });

  it("closes gracefully with an h2c session open: its stream ends and the session goes away", async () => {
    const hub = await startTestHub({ anonymous: true, h2c: true });
    const session = connectH2(hub.origin);
    session.on("error", () => {});
    const subscriber = h2Subscribe(session, `${HUB_PATH}?match=${TOPIC}`);
    assert.equal((await subscriber.headers)[":status"], 200);
    const sessionClosed = once(session, "close");
    await hub.close();
    assert.deepEqual(await subscriber.closed, { ended: true, rstCode: constants.NGHTTP2_NO_ERROR });
    await sessionClosed;
  });

  it("still serves HTTP/1.1 alone without --h2c, and refuses the HTTP/2 preface", async () => {
    const hub = await startTestHub({ anonymous: true });
    const session = connectH2(hub.origin);
    session.on("error", () => {});
    try {
      const stream = session.request({ ":path": "/healthz" });
      stream.on("error", () => {});
      const outcome = await new Promise((resolve) => {
        stream.once("response", () => resolve("answered"));
        session.once("close", () => resolve("closed"));
      });
      assert.equal(outcome, "closed");
    } finally {
      session.destroy();
      await hub.close();
    }
  });
});

describe("socket limits over TLS", () => {
  it("counts TLS connections as they are accepted, and answers one past the per-client limit over HTTP/1.1 and HTTP/2", async () => {
    const hub = await startTlsHub({
      "max-sockets-per-client": "1",
      "max-connections-per-client": "1",
    });
    const admitted = h2Session(originOf(hub), first.pem);
    try {
      const stream = h2Subscribe(admitted, `${HUB_PATH}?match=${TOPIC}`);
      assert.equal((await stream.headers)[":status"], 200);
      assert.equal(hub.connections.openFrom("127.0.0.1"), 1);

      const overHttp1 = await http1Exchange(`${hub.hubUrl}?match=${TOPIC}`, first.pem, {
        headers: { Accept: "text/event-stream" },
      });
      assert.equal(overHttp1.status, 429);
      assert.equal(overHttp1.headers.connection, "close");
      assert.equal(JSON.parse(overHttp1.body).code, "too_many_connections");

      const refused = h2Session(originOf(hub), first.pem);
      const goaway = once(refused, "goaway");
      const overHttp2 = await h2Exchange(refused, { ":path": `${HUB_PATH}?match=${TOPIC}` });
      assert.equal(overHttp2.headers[":status"], 429);
      assert.equal(overHttp2.headers["retry-after"], "5");
      assert.equal(JSON.parse(overHttp2.body).code, "too_many_connections");
      await goaway;
      await once(refused, "close");
      // The stream on the admitted session went on all along.
      assert.equal(admitted.closed, false);
      stream.stream.close();
    } finally {
      admitted.close();
      await hub.close();
    }
  });

  it("closes a TLS connection that never completes its handshake within the headers timeout", async () => {
    const hub = await startTlsHub({ "headers-timeout": "200ms" });
    try {
      const accepted = once(hub.server, "connection") as Promise<[Socket]>;
      const silent = new Socket();
      silent.on("error", () => {});
      silent.connect(Number(new URL(hub.hubUrl).port), "127.0.0.1");
      const [socket] = await accepted;
      assert.equal(hub.connections.open, 1);
      await once(socket, "close");
      assert.equal(hub.connections.open, 0);
      silent.destroy();
    } finally {
      await hub.close();
    }
  });
});

describe("graceful close with HTTP/2 sessions open", () => {
  it("ends every stream, sends GOAWAY, and finishes", async () => {
    const hub = await startTlsHub();
    const session = h2Session(originOf(hub), first.pem);
    const streams = [
      h2Subscribe(session, `${HUB_PATH}?match=a`),
      h2Subscribe(session, `${HUB_PATH}?match=b`),
    ];
    await Promise.all(streams.map((s) => s.headers));
    const goaway = once(session, "goaway");
    const sessionClosed = once(session, "close");
    await hub.close();
    for (const s of streams) {
      assert.deepEqual(await s.closed, { ended: true, rstCode: constants.NGHTTP2_NO_ERROR });
    }
    await goaway;
    await sessionClosed;
  });

  it("closes an HTTP/2 session that keeps a stream open past the shutdown timeout", async () => {
    const hub = await startTlsHub({ "shutdown-timeout": "300ms" });
    const session = h2Session(originOf(hub), first.pem);
    // A publish whose body never finishes: its stream stays open after the subscribers have ended.
    const stuck = session.request({
      ":method": "POST",
      ":path": HUB_PATH,
      "content-type": "application/x-www-form-urlencoded",
    });
    stuck.on("error", () => {});
    const arrived = once(hub.server, "stream");
    stuck.write("topic=a&data=");
    await arrived;
    const sessionClosed = once(session, "close");
    await hub.close();
    await sessionClosed;
    assert.equal(stuck.destroyed, true);
  });
});

describe("the certificate options", () => {
  const issuers = [{ issuer: ISSUER, publisher: { key: SECRET }, subscriber: { key: SECRET } }];

  it("refuses a certificate without its key, and a key without its certificate", async () => {
    await assert.rejects(
      createHubServer({ issuers, port: 0, certFile: first.certFile }),
      (error: unknown) =>
        error instanceof UsageError && /certFile was given without keyFile/.test(error.message),
    );
    await assert.rejects(
      startTestHub({ key: first.keyFile }),
      (error: unknown) => error instanceof UsageError && /--key was given without --cert/.test(error.message),
    );
  });

  it("refuses a file it cannot read, naming it", async () => {
    const missing = join(certs.dir, "missing.crt");
    await assert.rejects(
      createHubServer({ issuers, port: 0, certFile: missing, keyFile: first.keyFile }),
      (error: unknown) =>
        error instanceof UsageError && error.message.includes(`certFile ${missing} cannot be read (ENOENT)`),
    );
  });

  it("refuses a key that is not the certificate's, and a file that is not PEM", async () => {
    const other = certs.generate("other");
    await assert.rejects(
      createHubServer({ issuers, port: 0, certFile: first.certFile, keyFile: other.keyFile }),
      (error: unknown) =>
        error instanceof UsageError && /not a certificate and its private key/.test(error.message),
    );
    const garbage = join(certs.dir, "garbage.crt");
    writeFileSync(garbage, "not a certificate\n");
    await assert.rejects(
      createHubServer({ issuers, port: 0, certFile: garbage, keyFile: first.keyFile }),
      (error: unknown) =>
        error instanceof UsageError && /not a certificate and its private key/.test(error.message),
    );
  });

  it("refuses --h2c with a certificate", async () => {
    await assert.rejects(
      startTestHub({ cert: first.certFile, key: first.keyFile, h2c: true }),
      (error: unknown) => error instanceof UsageError && /--h2c is cleartext HTTP\/2/.test(error.message),
    );
  });

  it("has no certificate to reload without TLS", async () => {
    const hub = await startTestHub({ anonymous: true });
    try {
      await assert.rejects(hub.reloadCertificate(), UsageError);
    } finally {
      await hub.close();
    }
  });
});

describe("reloading the certificate", () => {
  it("serves a new pair to new connections while open streams go on, and keeps the old pair when the new one is bad", async () => {
    const live = certs.generate("live");
    const hub = await startTestHub({ anonymous: true, cert: live.certFile, key: live.keyFile });
    const port = Number(new URL(hub.hubUrl).port);
    const session = h2Session(originOf(hub), live.pem);
    try {
      const token = await hub.token({ publish: [TOPIC] });
      const subscriber = h2Subscribe(session, `${HUB_PATH}?match=${TOPIC}`);
      await subscriber.headers;
      assert.equal(await servedFingerprint(port, [live.pem]), live.fingerprint);

      const renewed = certs.generate("renewed");
      copyFileSync(renewed.certFile, live.certFile);
      copyFileSync(renewed.keyFile, live.keyFile);
      await hub.reloadCertificate();
      assert.equal(await servedFingerprint(port, [renewed.pem]), renewed.fingerprint);
      // The open session keeps its connection: its stream still receives.
      await h2Publish(session, HUB_PATH, token, { topic: TOPIC, data: "after the reload" });
      const [event] = await subscriber.waitForEvents(1);
      assert.equal(event!.data, "after the reload");

      // A key that does not match: refused, and the renewed pair is still served.
      copyFileSync(certs.generate("stray").keyFile, live.keyFile);
      await assert.rejects(hub.reloadCertificate(), UsageError);
      assert.equal(await servedFingerprint(port, [renewed.pem]), renewed.fingerprint);
      subscriber.stream.close();
    } finally {
      session.close();
      await hub.close();
    }
  });

  it("reloads on SIGHUP in quicksilver serve", async () => {
    const live = certs.generate("process");
    const hub = await startHubProcess(["--anonymous", "--cert", live.certFile, "--key", live.keyFile]);
    const origin = new URL(hub.hubUrl).origin;
    const port = Number(new URL(hub.hubUrl).port);
    const resource = "https://hub.example/.well-known/mercure";
    const session = h2Session(origin, live.pem);
    try {
      assert.match(hub.hubUrl, /^https:\/\//);
      const subscriber = h2Subscribe(session, `${HUB_PATH}?match=${TOPIC}`);
      assert.equal((await subscriber.headers)[":status"], 200);

      const renewed = certs.generate("process-renewed");
      copyFileSync(renewed.certFile, live.certFile);
      copyFileSync(renewed.keyFile, live.keyFile);
      hub.child.kill("SIGHUP");
      await waitForOutput(hub, '"certificate reloaded"');
      assert.equal(await servedFingerprint(port, [renewed.pem]), renewed.fingerprint);

      const token = await mintToken({ issuer: ISSUER, audience: resource, key: SECRET, publish: [TOPIC] });
      const published = await h2Publish(session, HUB_PATH, token, { topic: TOPIC, data: "renewed" });
      assert.equal(published.headers[":status"], 200);
      const [event] = await subscriber.waitForEvents(1);
      assert.equal(event!.data, "renewed");

      writeFileSync(live.keyFile, "not a key\n");
      hub.child.kill("SIGHUP");
      await waitForOutput(hub, '"certificate reload failed: the previous certificate is still served"');
      assert.equal(await servedFingerprint(port, [renewed.pem]), renewed.fingerprint);
      assert.equal(hub.child.exitCode, null);
      assert.ok(!hub.output().includes("not a key"));
    } finally {
      session.close();
      assert.equal(await hub.stop(), 0);
    }
  });
});

describe("reloading the certificate with --workers", () => {
  it("passes SIGHUP on to every worker, each of which serves the new pair", async () => {
    const live = certs.generate("workers");
    const hub = await startHubProcess([
      "--workers",
      "2",
      "--cert",
      live.certFile,
      "--key",
      live.keyFile,
      "--log-level",
      "debug",
    ]);
    const port = Number(new URL(hub.hubUrl).port);
    try {
      // Both workers have read the first pair.
      await waitForOutput(hub, '"worker listening"', 2);
      const renewed = certs.generate("workers-renewed");
      copyFileSync(renewed.certFile, live.certFile);
      copyFileSync(renewed.keyFile, live.keyFile);
      hub.child.kill("SIGHUP");
      await waitForOutput(hub, '"certificate reloaded"', 2);
      // Connections go to the workers in turn: several, so that each worker answers some.
      for (let i = 0; i < 6; i++) {
        assert.equal(await servedFingerprint(port, [renewed.pem]), renewed.fingerprint);
      }
    } finally {
      assert.equal(await hub.stop(), 0);
    }
  });
});

/** Resolves once the process has printed `text`. */
async function waitForOutput(
  hub: { child: import("node:child_process").ChildProcess; output(): string },
  text: string,
  times = 1,
) {
  while (hub.output().split(text).length - 1 < times) await once(hub.child.stdout!, "data");
}
