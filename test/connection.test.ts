import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { type CapturedLog, captureLog, type LogEntry } from "./helpers/captured-log.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

/** A connection written by hand, byte for byte, and everything the hub sent back on it. */
interface RawConnection {
  readonly socket: Socket;
  /** What arrived so far, as latin1. */
  received(): string;
  /** Resolves once `predicate` holds for what arrived; rejects if the connection closes first. */
  until(predicate: (received: string) => boolean): Promise<void>;
  /** Resolves when the connection is closed. */
  readonly closed: Promise<void>;
}

function rawConnection(hub: TestHub): RawConnection {
  const url = new URL(hub.hubUrl);
  const socket = connect(Number(url.port), url.hostname);
  let received = "";
  let isClosed = false;
  let waiters: (() => void)[] = [];
  const notify = () => {
    const current = waiters;
    waiters = [];
    for (const wake of current) wake();
  };
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
    notify();
  });
  socket.on("error", () => {}); // a reset is an outcome here, seen as the close
  const closed = new Promise<void>((resolve) =>
    socket.once("close", () => {
      isClosed = true;
      notify();
      resolve();
    }),
  );
  return {
    socket,
    received: () => received,
    until: (predicate) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(received)) resolve();
          else if (isClosed) reject(new Error(`the connection closed; it received: ${received}`));
          else waiters.push(check);
        };
        check();
      }),
    closed,
  };
}

/** The status lines in what a connection received, in order. */
function statusLines(received: string): string[] {
  return received.match(/HTTP\/1\.1 \d{3}[^\r]*/g) ?? [];
}

/** Whether the hub logged that it dropped a request it could not answer. */
const isDrop = (entry: LogEntry) =>
  entry.message?.startsWith("request dropped") === true && entry.fields.method === "POST";

describe("requests on one connection", { timeout: 30_000 }, () => {
  let log: CapturedLog;
  let hub: TestHub;
  let token: string;
  let path: string;
  let host: string;
  const open: Stream[] = [];

  before(async () => {
    log = captureLog();
    hub = await startTestHub({ anonymous: true }, log.logger);
    token = await hub.token({ publish: ["*"] });
    path = new URL(hub.hubUrl).pathname;
    host = new URL(hub.hubUrl).host;
  });
  after(async () => {
    for (const stream of open) stream.close();
    await hub.close();
  });

  /** A publish request, written out. */
  function publishRequest(topic: string, data: string): string {
    const body = `topic=${encodeURIComponent(topic)}&data=${encodeURIComponent(data)}`;
    return (
      `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`
    );
  }

  function subscribeRequest(topic: string): string {
    return `GET ${path}?match=${encodeURIComponent(topic)} HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\n\r\n`;
  }

  async function watch(topic: string): Promise<Stream> {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", topic]]));
    open.push(stream);
    assert.equal(stream.status, 200);
    return stream;
  }

  /**
   * The data of every update history keeps on topics under `prefix`, read by a replay from
   * `earliest` up to a marker published now: whatever was stored before the marker is in it.
   */
  async function stored(prefix: string): Promise<string[]> {
    const marker = `${prefix}marker`;
    const published = await publish(hub, { topic: marker, data: "marker" }, { token });
    assert.equal(published.status, 200, published.body);
    const replay = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match_urlpattern", `${prefix}*`],
        ["last_event_id", "earliest"],
      ]),
    );
    open.push(replay);
    assert.equal(replay.status, 200);
    for (let count = 1; count <= 1000; count++) {
      const events = await replay.waitForEvents(count);
      if (events.at(-1)!.id === published.body) {
        replay.close();
        return events.slice(0, -1).map((event) => event.data);
      }
    }
    throw new Error("the marker never came");
  }

  it("never acts on a request pipelined behind a stream, and drops it unanswered", async () => {
    const prefix = "https://example.com/behind-stream/";
    const watcher = await watch(`${prefix}update`);
    const logged = log.entries.length;
    const connection = rawConnection(hub);
    // Three requests in one write: the third can never be answered, since the stream before it is
    // the connection's last response.
    connection.socket.write(
      publishRequest(`${prefix}update`, "first") +
        subscribeRequest(`${prefix}streamed`) +
        publishRequest(`${prefix}update`, "third"),
    );
    await connection.until((received) => received.includes("text/event-stream"));
    assert.equal((await watcher.waitForEvents(1))[0]!.data, "first");
    connection.socket.destroy();
    // The hub either drops the third request once the connection is gone, or (wrongly) publishes it.
    await Promise.race([log.waitFor(isDrop, logged), watcher.waitForEvents(2)]);
    assert.deepEqual(
      watcher.events.map((event) => event.data),
      ["first"],
      "the third update was never delivered",
    );
    assert.deepEqual(await stored(prefix), ["first"], "the third update was never stored");
    assert.deepEqual(
      statusLines(connection.received()).map((line) => line.slice(9, 12)),
      ["200", "200"],
      "the publish and the stream were answered, nothing else",
    );
  });

  it("closes a connection that pipelines too many requests behind a stream, acting on none", async () => {
    const prefix = "https://example.com/flood/";
    const watcher = await watch(`${prefix}update`);
    const connection = rawConnection(hub);
    const flood = Array.from({ length: 100 }, (_, i) => publishRequest(`${prefix}update`, `flood ${i}`));
    connection.socket.write(subscribeRequest(`${prefix}streamed`) + flood.join(""));
    // The hub closes the connection, or (wrongly) keeps it and publishes what the flood carried.
    await Promise.race([connection.closed, watcher.waitForEvents(1)]);
    assert.deepEqual(watcher.events, [], "nothing in the flood was published");
    await connection.closed;
    assert.deepEqual(await stored(prefix), [], "nothing in the flood was stored");
    assert.equal((await fetch(new URL("/healthz", hub.hubUrl))).status, 200, "the hub still serves");
  });

  it("still answers requests pipelined behind ordinary responses, in order", async () => {
    const prefix = "https://example.com/pipelined/";
    const connection = rawConnection(hub);
    const count = 5;
    connection.socket.write(
      Array.from({ length: count }, (_, i) => publishRequest(`${prefix}update`, `piped ${i}`)).join(""),
    );
    await connection.until((received) => statusLines(received).length === count);
    assert.ok(
      statusLines(connection.received()).every((line) => line.startsWith("HTTP/1.1 200")),
      connection.received(),
    );
    connection.socket.destroy();
    assert.deepEqual(
      await stored(prefix),
      Array.from({ length: count }, (_, i) => `piped ${i}`),
    );
  });

  it("does not publish an update whose connection failed (400) before it was answered", async () => {
    const prefix = "https://example.com/garbage/";
    const watcher = await watch(`${prefix}update`);
    const logged = log.entries.length;
    const connection = rawConnection(hub);
    // A complete, valid publish, then bytes that are no HTTP request: Node answers 400 and closes.
    connection.socket.write(`${publishRequest(`${prefix}update`, "before garbage")}\x00\x01garbage\r\n\r\n`);
    await connection.closed;
    assert.deepEqual(
      statusLines(connection.received()).map((line) => line.slice(9, 12)),
      ["400"],
      "the client read a 400, and only that",
    );
    // The hub either drops the publish, or (wrongly) publishes it.
    await Promise.race([log.waitFor(isDrop, logged), watcher.waitForEvents(1)]);
    assert.deepEqual(watcher.events, [], "the update was not delivered");
    assert.deepEqual(await stored(prefix), [], "the update was not stored");
  });

  describe("a malformed request target", () => {
    const targets = ["http://[::1/.well-known/mercure", "http://[/", "http://:99999/", "//"];
    for (const target of targets) {
      it(`answers 400 request_target_invalid to ${JSON.stringify(target)}, logging no error`, async () => {
        const logged = log.entries.length;
        const connection = rawConnection(hub);
        connection.socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        await connection.closed;
        const received = connection.received();
        assert.match(received, /^HTTP\/1\.1 400 /, received);
        const body = JSON.parse(received.slice(received.indexOf("\r\n\r\n") + 4)) as { code: string };
        assert.equal(body.code, "request_target_invalid");
        const errors = log.entries.slice(logged).filter((entry) => entry.level === "error");
        assert.deepEqual(errors, [], "nothing logged at error level");
      });
    }
  });
});
