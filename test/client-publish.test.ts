import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  MercureForbiddenError,
  MercureHttpError,
  MercureNetworkError,
  MercureRateLimitedError,
  MercureUnauthorizedError,
  publish,
} from "../src/client/index.ts";
import type { SseEvent } from "../src/protocol/sse-parser.ts";
import { startFaultyProxy } from "./helpers/faulty-proxy.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { startTestHub, type TestHub } from "./helpers/test-hub.ts";

/** The global fetch, counting its calls: how many requests a publish made. */
function countingFetch(): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls++;
      return fetch(input, init);
    },
    calls: () => calls,
  };
}

/** Waits until `stream` delivered the event `id`; resolves with every event up to it. */
async function eventsThrough(stream: Stream, id: string): Promise<SseEvent[]> {
  for (let count = 1; ; count++) {
    const events = await stream.waitForEvents(count);
    if (events[count - 1]!.id === id) return events;
  }
}

describe("client publish", () => {
  let hub: TestHub;
  let token: string;
  let watcher: Stream;

  before(async () => {
    hub = await startTestHub({ anonymous: true });
    token = await hub.token({ publishUrlPattern: ["https://example.com/*"] });
    watcher = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { Authorization: `Bearer ${await hub.token({ subscribe: ["*"] })}` },
    });
  });
  after(async () => {
    watcher.close();
    await hub.close();
  });

  it("publishes to several topics with a type and a retry; a subscriber to an alternate topic gets it", async () => {
    const alternate = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/alt/1"]]));
    try {
      const result = await publish(
        hub.hubUrl,
        {
          topic: ["https://example.com/books/1", "https://example.com/alt/1"],
          data: "hello",
          type: "book.updated",
          retry: 2500,
        },
        { token },
      );
      assert.match(result.id, /^urn:uuid:[0-9a-f-]{36}$/, "the client made the id");
      assert.equal(result.attempts, 1);
      const [event] = await alternate.waitForEvents(1);
      assert.deepEqual(event, { id: result.id, data: "hello", type: "book.updated", retry: 2500 });
    } finally {
      alternate.close();
    }
  });

  it("keeps the caller's id and sends an object as JSON", async () => {
    const result = await publish(
      new URL(hub.hubUrl),
      { topic: "https://example.com/books/2", id: "book-2-rev-1", data: { title: "Dune", pages: 412 } },
      { token: () => Promise.resolve(token) },
    );
    assert.equal(result.id, "book-2-rev-1");
    const event = (await eventsThrough(watcher, "book-2-rev-1")).at(-1)!;
    assert.deepEqual(JSON.parse(event.data), { title: "Dune", pages: 412 });
  });

  for (const dialect of ["draft", "legacy"] as const) {
    it(`marks an update private in the ${dialect} dialect`, async () => {
      const anonymous = await openStream(
        subscribeUrl(hub.hubUrl, [["match_urlpattern", "https://example.com/p/*"]]),
      );
      try {
        const secret = await publish(
          hub.hubUrl,
          { topic: `https://example.com/p/${dialect}`, data: "secret", private: true },
          { token, dialect },
        );
        const open = await publish(
          hub.hubUrl,
          { topic: `https://example.com/p/${dialect}`, data: "open" },
          { token },
        );
        const seen = (await eventsThrough(watcher, open.id)).map((event) => event.id);
        assert.deepEqual(seen.slice(-2), [secret.id, open.id], "the authorized subscriber got both");
        const [first] = await anonymous.waitForEvents(1);
        assert.equal(first!.id, open.id, "the anonymous subscriber got the public update only");
      } finally {
        anonymous.close();
      }
    });
  }

  it("rejects without a token with MercureUnauthorizedError, at once", async () => {
    const counted = countingFetch();
    await assert.rejects(
      publish(hub.hubUrl, { topic: "https://example.com/books/3", data: "x" }, { fetch: counted.fetch }),
      (error: unknown) => error instanceof MercureUnauthorizedError && error.status === 401,
    );
    assert.equal(counted.calls(), 1, "a refusal is not retried");
  });

  it("rejects a token the hub refuses with MercureUnauthorizedError token_invalid", async () => {
    const forged = await hub.token({ publish: ["*"], key: "another-secret-that-is-long-enough-for-hs256" });
    await assert.rejects(
      publish(hub.hubUrl, { topic: "https://example.com/books/3" }, { token: forged }),
      (error: unknown) => error instanceof MercureUnauthorizedError && error.code === "token_invalid",
    );
  });

  it("rejects a topic the token does not grant with MercureForbiddenError insufficient_scope", async () => {
    await assert.rejects(
      publish(hub.hubUrl, { topic: ["https://example.com/books/4", "https://elsewhere.test/4"] }, { token }),
      (error: unknown) =>
        error instanceof MercureForbiddenError &&
        error.status === 403 &&
        error.code === "insufficient_scope" &&
        error.detail?.includes("https://elsewhere.test/4") === true,
    );
  });

  it("rejects an invalid update with the problem's code, at once", async () => {
    const counted = countingFetch();
    await assert.rejects(
      publish(
        hub.hubUrl,
        { topic: "https://example.com/books/5", id: "#fragment" },
        { token, fetch: counted.fetch },
      ),
      (error: unknown) =>
        error instanceof MercureHttpError &&
        !(error instanceof MercureUnauthorizedError) &&
        error.status === 400 &&
        error.code === "id_invalid",
    );
    assert.equal(counted.calls(), 1);
  });

  it("gives up on a hub that cannot be reached with MercureNetworkError after its retries", async () => {
    const counted = countingFetch();
    // A port that was just free: nothing listens there.
    const gone = await startTestHub();
    const url = gone.hubUrl;
    await gone.close();
    await assert.rejects(
      publish(
        url,
        { topic: "https://example.com/books/6" },
        { token, retries: 2, minDelayMs: 1, fetch: counted.fetch },
      ),
      (error: unknown) => error instanceof MercureNetworkError,
    );
    assert.equal(counted.calls(), 3, "the first attempt and two retries");
  });

  it("refuses retry options that make no sense with a RangeError, before any request", async () => {
    const counted = countingFetch();
    for (const options of [
      { retries: -1 },
      { retries: 1.5 },
      { minDelayMs: Number.NaN },
      { maxDelayMs: -5 },
    ]) {
      await assert.rejects(
        publish(
          hub.hubUrl,
          { topic: "https://example.com/books/7" },
          { token, fetch: counted.fetch, ...options },
        ),
        RangeError,
      );
    }
    assert.equal(counted.calls(), 0);
  });

  it("rejects with the signal's reason when aborted", async () => {
    const reason = new Error("the user left");
    await assert.rejects(
      publish(
        hub.hubUrl,
        { topic: "https://example.com/books/7" },
        { token, signal: AbortSignal.abort(reason) },
      ),
      (error: unknown) => error === reason,
    );
  });

  it("retries a 503 from a proxy in front of the hub, with the same id", async () => {
    const proxy = await startFaultyProxy(hub.hubUrl, "answer-503");
    try {
      const result = await publish(
        proxy.url,
        { topic: "https://example.com/books/8", data: "late" },
        { token },
      );
      assert.equal(result.attempts, 2);
      assert.equal(proxy.connections(), 2);
      assert.equal((await eventsThrough(watcher, result.id)).at(-1)!.data, "late");
    } finally {
      await proxy.close();
    }
  });

  it("retries an answer lost on the way back with the same id: the update is delivered once", async () => {
    const proxy = await startFaultyProxy(hub.hubUrl, "lose-answer");
    try {
      const result = await publish(
        proxy.url,
        { topic: "https://example.com/books/9", data: "once" },
        { token },
      );
      assert.equal(result.attempts, 2, "the first answer was lost");
      const marker = await publish(
        hub.hubUrl,
        { topic: "https://example.com/marker", data: "marker" },
        { token },
      );
      const seen = (await eventsThrough(watcher, marker.id)).map((event) => event.id);
      assert.equal(seen.filter((id) => id === result.id).length, 1, "the update was delivered once");
      assert.deepEqual(seen.slice(-2), [result.id, marker.id], "the update, then the marker");
    } finally {
      await proxy.close();
    }
  });
});

describe("client publish against a rate limit", () => {
  let hub: TestHub;
  let token: string;

  before(async () => {
    hub = await startTestHub({ "publish-rate": "1", "publish-burst": "1" });
    token = await hub.token({ publish: ["*"] });
  });
  after(() => hub.close());

  it("waits out a 429's Retry-After, asking for the token again", async () => {
    await publish(hub.hubUrl, { topic: "https://example.com/a" }, { token });
    let tokenCalls = 0;
    const result = await publish(
      hub.hubUrl,
      { topic: "https://example.com/a" },
      {
        token: () => {
          tokenCalls++;
          return token;
        },
      },
    );
    assert.ok(result.attempts >= 2, `refused first, then published (${result.attempts} attempts)`);
    assert.equal(tokenCalls, result.attempts);
  });

  it("stops waiting out a Retry-After when the signal aborts", async () => {
    await publish(hub.hubUrl, { topic: "https://example.com/c" }, { token });
    const reason = new Error("the user left");
    let tokenCalls = 0;
    const controller = new AbortController();
    const pending = publish(
      hub.hubUrl,
      { topic: "https://example.com/c" },
      {
        token: () => {
          tokenCalls++;
          // Aborted once the first attempt is on its way: the 429's wait is cut short.
          setTimeout(() => controller.abort(reason), 50);
          return token;
        },
        signal: controller.signal,
      },
    );
    await assert.rejects(pending, (error: unknown) => error === reason);
    assert.equal(tokenCalls, 1, "no second attempt");
  });

  it("rejects with MercureRateLimitedError once the retries run out", async () => {
    await publish(hub.hubUrl, { topic: "https://example.com/b" }, { token });
    await assert.rejects(
      publish(hub.hubUrl, { topic: "https://example.com/b" }, { token, retries: 0 }),
      (error: unknown) =>
        error instanceof MercureRateLimitedError &&
        error.code === "publish_rate_exceeded" &&
        error.retryAfterMs !== undefined &&
        error.retryAfterMs >= 1000,
    );
  });
});
