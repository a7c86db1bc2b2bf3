import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BENCH_ISSUER, BENCH_SECRET, type BenchHub, spawnHub } from "../bench/spawn-hub.ts";
import { mintToken } from "../src/auth/mint.ts";
import { RETRY_FLOOR_MS } from "../src/hub/shutdown-spread.ts";
import { sharedToken, startHubProcess } from "./helpers/hub-process.ts";
import { publishOnce } from "./helpers/publish-once.ts";
import { openRawStream } from "./helpers/raw-stream.ts";
import { ReconnectingSubscriber } from "./helpers/reconnecting-subscriber.ts";
import { startRedisServer } from "./helpers/redis-server.ts";
import { subscribeUrl } from "./helpers/sse-client.ts";
import { storedIds } from "./helpers/stored-ids.ts";

// SIGTERM in the middle of a publish burst: every publish written to a socket gets a whole answer,
// 200 (then it is stored) or 503, never a reset; only connections attempted after the hub stopped
// listening may be refused.

const directory = mkdtempSync(join(tmpdir(), "quicksilver-shutdown-"));
after(() => rmSync(directory, { recursive: true, force: true }));

const TOPIC = "https://example.com/shutdown";
/** Keep-alive connections publishing at once, each one request at a time. */
const LANES = 8;
/** Publishes per lane at most: the burst is bounded even if the hub never stopped. */
const PER_LANE = 50;
/** Acknowledged publishes before SIGTERM, so that it lands in the middle of the burst. */
const BEFORE_SIGTERM = 60;

type Outcome =
  | { readonly kind: "answered"; readonly status: number; readonly code: string | undefined }
  | { readonly kind: "cut"; readonly error: string };

interface Answer {
  readonly status: number;
  readonly close: boolean;
  readonly body: string;
}

/** One keep-alive connection written to by hand, so the test knows which requests were sent. */
class Lane {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;
  readonly connected: Promise<void>;

  constructor(url: URL) {
    this.#socket = connect({ host: url.hostname, port: Number(url.port) });
    this.connected = new Promise((resolve, reject) => {
      this.#socket.once("connect", resolve);
      this.#socket.once("error", reject);
    });
    this.#socket.on("data", (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
    this.#socket.on("error", (error) => this.#fail(error));
    this.#socket.on("close", () => this.#fail(new Error("socket closed before the answer")));
  }

  /** Writes a request and resolves with its whole answer; rejects if the connection ends first. */
  send(request: string): Promise<Answer> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const answer = new Promise<Answer>((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
    this.#socket.write(request);
    return answer;
  }

  close(): void {
    this.#socket.destroy();
  }

  #parse(): void {
    const end = this.#buffer.indexOf("\r\n\r\n");
    if (end === -1 || this.#waiting === undefined) return;
    const head = this.#buffer.subarray(0, end).toString("latin1");
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? "0");
    if (this.#buffer.length < end + 4 + length) return;
    const body = this.#buffer.subarray(end + 4, end + 4 + length).toString("utf8");
    this.#buffer = this.#buffer.subarray(end + 4 + length);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting.resolve({
      status: Number(head.slice(9, 12)),
      close: /\r\nconnection: *close/i.test(head),
      body,
    });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
  }
}

function publishRequest(url: URL, token: string, id: string): string {
  const body = new URLSearchParams({ topic: TOPIC, id, data: id }).toString();
  return (
    `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

function token(hub: BenchHub, grant: "publish" | "subscribe"): Promise<string> {
  return mintToken({ issuer: BENCH_ISSUER, audience: hub.hubUrl, key: BENCH_SECRET, [grant]: ["*"] });
}

describe("SIGTERM during a publish burst", () => {
  it("answers every publish already sent, 200 and stored or 503, resets none, and ends streams cleanly", async (t) => {
    const path = join(directory, "history.db");
    const hub = await spawnHub(["--transport", `sqlite:${path}`]);
    const url = new URL(hub.hubUrl);
    const bearer = await token(hub, "publish");
    const exited = new Promise<number | null>((resolve) => hub.process.once("exit", resolve));
    const subscriber = await openRawStream(subscribeUrl(hub.hubUrl, [["match", TOPIC]]), {
      headers: { Authorization: `Bearer ${await token(hub, "subscribe")}` },
    });
    await subscriber.until((stream) => stream.head !== undefined);
    const outcomes = new Map<string, Outcome>();
    let acknowledged = 0;
    let signalled = false;

    const lanes = Array.from({ length: LANES }, async (_, number) => {
      let lane: Lane | undefined;
      for (let n = 0; n < PER_LANE; n++) {
        if (lane === undefined) {
          lane = new Lane(url);
          try {
            await lane.connected;
          } catch {
            return; // refused after the hub stopped listening: nothing was sent
          }
        }
        const id = `l${number}-${n}`;
        try {
          const answer = await lane.send(publishRequest(url, bearer, id));
          const code = answer.status === 200 ? undefined : JSON.parse(answer.body).code;
          outcomes.set(id, { kind: "answered", status: answer.status, code });
          if (answer.status === 200 && ++acknowledged === BEFORE_SIGTERM && !signalled) {
            signalled = true;
            hub.process.kill("SIGTERM");
          }
          if (answer.close) {
            lane.close();
            lane = undefined;
          }
        } catch (error) {
          outcomes.set(id, { kind: "cut", error: (error as Error).message });
          lane?.close();
          return;
        }
      }
      lane?.close();
    });
    await Promise.all(lanes);
    if (!signalled) hub.process.kill("SIGTERM");
    assert.equal(await exited, 0, "the hub exits cleanly");
    await subscriber.closed;
    assert.ok(
      Buffer.concat(subscriber.reads).toString("latin1").endsWith("\r\n0\r\n\r\n"),
      "the stream was ended with its last chunk, not cut",
    );

    const answered = [...outcomes.values()].filter((outcome) => outcome.kind === "answered");
    t.diagnostic(
      `${outcomes.size} sent, ${answered.filter((o) => o.status === 200).length} acknowledged, ` +
        `${answered.filter((o) => o.status === 503).length} refused`,
    );
    const cut = [...outcomes].filter(([, outcome]) => outcome.kind === "cut");
    assert.deepEqual(cut, [], "no publish already sent is left without an answer");
    for (const [id, outcome] of outcomes) {
      assert.ok(outcome.kind === "answered");
      assert.ok(
        outcome.status === 200 ||
          (outcome.status === 503 && ["shutting_down", "store_unavailable"].includes(outcome.code ?? "")),
        `${id} was answered ${outcome.status} ${outcome.code}`,
      );
    }
    const stored = new Set(await storedIds(path, TOPIC));
    const lost = [...outcomes]
      .filter(([, outcome]) => outcome.kind === "answered" && outcome.status === 200)
      .map(([id]) => id)
      .filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], "every acknowledged publish is stored");
  });
});

describe("SIGTERM with subscribers open", () => {
  it("tells each stream a reconnection delay, ends it cleanly and exits 0; a hub restarted on the same store resumes each from its cursor", async () => {
    const store = ["--transport", `sqlite:${join(directory, "restart.db")}`];
    const spread = 500;
    let hub = await startHubProcess([...store, "--shutdown-spread", `${spread}ms`]);
    const port = new URL(hub.hubUrl).port;
    const publisher = await sharedToken({ publish: ["*"] });
    const subscribers = await Promise.all(
      [1, 2, 3].map(async () => {
        const subscriber = new ReconnectingSubscriber({
          hubUrls: () => [hub.hubUrl],
          topic: TOPIC,
          token: await sharedToken({ subscribe: ["*"] }),
          cursor: "earliest",
        });
        await subscriber.until(() => subscriber.connected);
        return subscriber;
      }),
    );
    try {
      const publishRange = async (from: number, to: number) => {
        for (let n = from; n <= to; n++) {
          const outcome = await publishOnce(hub.hubUrl, publisher, {
            topic: TOPIC,
            id: `u${n}`,
            data: `${n}`,
          });
          assert.deepEqual(outcome, { kind: "answered", status: 200, body: `u${n}` });
        }
      };
      const everyoneHas = (count: number) =>
        Promise.all(subscribers.map((s) => s.until(() => s.ids.length >= count)));
      await publishRange(1, 5);
      await everyoneHas(5);

      assert.equal(await hub.stop(), 0, "the hub exits cleanly");
      for (const subscriber of subscribers) {
        await subscriber.until(() => subscriber.ends.length === 1);
        const [end] = subscriber.ends;
        assert.equal(end?.cleanly, true, "the stream was ended, not cut");
        assert.equal(end.retries.length, 1, "the stream was told when to reconnect");
        assert.ok(
          end.retries[0]! >= RETRY_FLOOR_MS && end.retries[0]! <= RETRY_FLOOR_MS + spread,
          `retry ${end.retries[0]}`,
        );
      }

      // Same store, same port: published to before the subscribers are back (replayed from their
      // cursors), then after (live).
      hub = await startHubProcess([...store, "--listen", `127.0.0.1:${port}`]);
      await publishRange(6, 8);
      await Promise.all(subscribers.map((s) => s.until(() => s.connected)));
      await publishRange(9, 10);
      await everyoneHas(10);
      const expected = Array.from({ length: 10 }, (_, i) => `u${i + 1}`);
      for (const subscriber of subscribers)
        assert.deepEqual(subscriber.ids, expected, "nothing lost, nothing twice");
    } finally {
      await Promise.all(subscribers.map((subscriber) => subscriber.stop()));
      await hub.stop();
    }
  });
});

describe("SIGTERM with a store that does not answer", () => {
  it("exits with 1 once the shutdown outlasts its bound, saying so, rather than hang", async () => {
    const redis = await startRedisServer();
    const hub = await startHubProcess(["--transport", redis.url, "--shutdown-timeout", "1s"]);
    try {
      // Frozen: its connections stay open and nothing is answered, as a Redis stuck on a disk.
      process.kill(redis.pid!, "SIGSTOP");
      assert.equal(await hub.stop(), 1, `${hub.child.signalCode} ${hub.output()}`);
      assert.match(hub.output(), /"shutdown did not finish in time"/);
    } finally {
      process.kill(redis.pid!, "SIGCONT");
      await hub.stop();
      await redis.stop();
    }
  });
});
