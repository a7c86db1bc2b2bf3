/**
 * A rolling restart of two `quicksilver serve` processes sharing one real redis-server, as behind
 * a load balancer: one hub at a time is stopped with SIGTERM and started again, while a publisher
 * publishes without pause and subscribers on both hubs move to the other when their stream ends.
 * Nothing acknowledged may be lost, nothing may arrive twice, and every subscriber sees one order.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type HubProcess, sharedToken, startHubProcess } from "./helpers/hub-process.ts";
import { type PublishOutcome, publishOnce } from "./helpers/publish-once.ts";
import { ReconnectingSubscriber } from "./helpers/reconnecting-subscriber.ts";
import { startRedisServer } from "./helpers/redis-server.ts";

const TOPIC = "https://example.com/rolling";
/** Small, to keep the test quick; the streams of a stopping hub still end at moments of their own. */
const SPREAD = "300ms";
/** Updates acknowledged between two steps of the restart, so that each step lands mid-stream. */
const BETWEEN_STEPS = 15;
/** Attempts at one update, across both hubs, before the publisher gives up. */
const MAX_ATTEMPTS = 200;

/**
 * Publishes one update after another, each to the hub after the last one's, moving to the other
 * hub when one refuses it, is down or cuts the connection, with the same id. A publish cut after
 * it was sent is retried too: a connection the kernel completed while the hub was closing its
 * listener is reset unread (no server can tell it apart from one it read), and the hub answers
 * every request it did read before it exits. Had a cut publish been stored, its retry would be
 * stored again (the hub keeps a reused id as a new update) and the subscribers' lists would show
 * the duplicate: the assertions below would catch it.
 */
class Publisher {
  readonly acknowledged: string[] = [];
  readonly refusals: string[] = [];
  #stopped = false;
  readonly #running: Promise<void>;

  constructor(hubUrls: () => readonly string[], token: string) {
    this.#running = this.#run(hubUrls, token);
  }

  async #run(hubUrls: () => readonly string[], token: string): Promise<void> {
    let hub = 0;
    for (let n = 1; !this.#stopped; n++) {
      const id = `u${n}`;
      for (let attempt = 1; ; attempt++) {
        const urls = hubUrls();
        const outcome: PublishOutcome = await publishOnce(urls[hub % urls.length]!, token, {
          topic: TOPIC,
          id,
          data: `${n}`,
        });
        if (outcome.kind === "answered" && outcome.status === 200) {
          assert.equal(outcome.body, id);
          this.acknowledged.push(id);
          break;
        }
        if (outcome.kind === "answered") {
          // 503: shutting down, or starting (the hub listens before its routes are built, and
          // asks requests to come back meanwhile, with no body).
          assert.equal(outcome.status, 503, `${id}: ${outcome.body}`);
          if (outcome.body !== "") assert.equal(JSON.parse(outcome.body).code, "shutting_down");
        }
        this.refusals.push(`${id} ${outcome.kind === "answered" ? "503" : outcome.kind}`);
        if (attempt === MAX_ATTEMPTS) throw new Error(`${id} could not be published on either hub`);
        hub++;
        if (attempt % 2 === 0) await sleep(20); // both refused: one of them is starting
      }
      hub++;
    }
  }

  /** Resolves once `count` more updates were acknowledged; rejects if the publisher failed. */
  async advance(count: number): Promise<void> {
    const target = this.acknowledged.length + count;
    let failure: unknown;
    this.#running.catch((error: unknown) => {
      failure = error;
    });
    while (this.acknowledged.length < target) {
      if (failure !== undefined) throw failure;
      await sleep(10);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }
}

describe("a rolling restart of two hubs on one Redis", () => {
  it("loses no acknowledged update and repeats none: every subscriber gets each once, in one order", {
    timeout: 120_000,
  }, async (t) => {
    const redis = await startRedisServer();
    const args = ["--transport", redis.url, "--shutdown-spread", SPREAD];
    const hubs: HubProcess[] = [await startHubProcess(args), await startHubProcess(args)];
    const hubUrls = () => hubs.map((hub) => hub.hubUrl);
    const subscribers: ReconnectingSubscriber[] = [];
    let publisher: Publisher | undefined;
    try {
      const token = await sharedToken({ subscribe: ["*"] });
      for (let i = 0; i < 6; i++) {
        // Half start on each hub; from "earliest", so that the first update cannot be missed.
        const first = i % 2;
        const subscriber = new ReconnectingSubscriber({
          hubUrls: () => [hubUrls()[first]!, hubUrls()[1 - first]!],
          topic: TOPIC,
          token,
          cursor: "earliest",
        });
        subscribers.push(subscriber);
        await subscriber.until(() => subscriber.connected);
      }
      publisher = new Publisher(hubUrls, await sharedToken({ publish: ["*"] }));
      await publisher.advance(BETWEEN_STEPS);

      for (const index of [0, 1]) {
        const stopping = hubs[index]!;
        const streamsBefore = subscribers.map((subscriber) => subscriber.ends.length);
        assert.equal(await stopping.stop(), 0, `hub ${index} exits cleanly`);
        // Started again on the same port, as a supervisor restarts a service behind a load
        // balancer; the next step waits for it to be ready.
        const port = new URL(stopping.hubUrl).port;
        hubs[index] = await startHubProcess([...args, "--listen", `127.0.0.1:${port}`]);
        await waitReady(hubs[index]!);
        // Every subscriber of the stopped hub reconnected (to the other hub) before the next step.
        for (const [n, subscriber] of subscribers.entries()) {
          await subscriber.until(() => subscriber.connected);
          const moved = subscriber.ends.slice(streamsBefore[n]);
          for (const end of moved) {
            assert.equal(end.cleanly, true, "a stream of a stopping hub is ended, not cut");
            assert.equal(end.retries.length, 1, "and told when to reconnect");
          }
        }
        await publisher.advance(BETWEEN_STEPS);
      }
      await publisher.stop();
      const acknowledged = publisher.acknowledged;
      const last = acknowledged.at(-1)!;
      await Promise.all(
        subscribers.map((subscriber) => subscriber.until(() => subscriber.ids.includes(last))),
      );
      t.diagnostic(
        `${acknowledged.length} acknowledged, ${publisher.refusals.length} refused and retried; ` +
          `streams ended: ${subscribers.map((subscriber) => subscriber.ends.length).join(", ")}`,
      );
      assert.ok(
        subscribers.every((subscriber) => subscriber.ends.length >= 1),
        "every subscriber lost its hub at least once",
      );
      for (const subscriber of subscribers) {
        assert.deepEqual(
          subscriber.ids,
          acknowledged,
          "each acknowledged update once, in the publisher's order",
        );
      }
    } finally {
      await publisher?.stop().catch(() => {});
      await Promise.all(subscribers.map((subscriber) => subscriber.stop()));
      await Promise.all(hubs.map((hub) => hub.stop()));
      await redis.stop();
    }
  });
});

/** Resolves once the hub answers `GET /healthz` with 200, as a load balancer's health check. */
async function waitReady(hub: HubProcess): Promise<void> {
  const url = new URL("/healthz", hub.hubUrl);
  for (;;) {
    const status = await fetch(url).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await sleep(20);
  }
}
