/**
 * The `eventsource` npm package, a WHATWG EventSource for Node, as a legacy subscriber: `topic=`,
 * a legacy token in `Authorization` (through its `fetch` option), and its own reconnection with
 * `Last-Event-ID` after the hub ends the stream (--max-lifetime).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { EventSource, type FetchLikeResponse } from "eventsource";
import { rawRequest } from "./helpers/auth.ts";
import { legacyToken, startLegacyHub } from "./helpers/legacy.ts";
import { subscribeUrl } from "./helpers/sse-client.ts";
import { publish, type TestHub } from "./helpers/test-hub.ts";

const BOOKS = "https://example.com/books/{id}";

describe("legacy dialect: the eventsource package reconnecting", { timeout: 60_000 }, () => {
  let hub: TestHub;
  let publisher: string;
  let subscriber: string;

  before(async () => {
    // The hub ends every stream at most 2 s after it opened (--max-lifetime; its once-a-second
    // sweep may end it up to a second early): a genuine hub-side drop, as clients meet at the
    // lifetime limit, and time enough for the first updates to arrive before it.
    hub = await startLegacyHub({ "max-lifetime": "2s" });
    publisher = await legacyToken({ publish: [BOOKS] });
    subscriber = await legacyToken({ subscribe: [BOOKS] });
  });
  after(() => hub?.close());

  async function send(n: number, fields: Record<string, string> = {}): Promise<string> {
    const result = await publish(
      hub,
      // Private and public alternate: the replay must re-check the grant for the private ones.
      {
        topic: `https://example.com/books/${n}`,
        data: `book ${n}`,
        ...(n % 2 === 0 ? { private: "on" } : {}),
        ...fields,
      },
      { token: publisher },
    );
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  it("resumes from Last-Event-ID after the hub drops the stream: every update once, in order", async () => {
    /** Every request the client made: the Last-Event-ID it sent and the hub's answer. */
    const requests: { lastEventId: string | undefined; response?: FetchLikeResponse }[] = [];
    const received: { id: string; data: string }[] = [];
    let wake: (() => void) | undefined;
    const changed = () => {
      wake?.();
      wake = undefined;
    };
    const until = async (condition: () => boolean, what: string) => {
      while (!condition()) {
        if (source.readyState === EventSource.CLOSED)
          throw new Error(`the client gave up waiting for ${what}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    };
    // The first reconnection is held until the test has published while the client was away:
    // the client itself decided to reconnect and with which Last-Event-ID; the gate only makes
    // sure updates were published in the gap.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });

    const url = subscribeUrl(hub.hubUrl, [["topic", BOOKS]]);
    const source = new EventSource(url, {
      fetch: async (input, init) => {
        const request: (typeof requests)[number] = { lastEventId: init.headers["Last-Event-ID"] };
        requests.push(request);
        changed();
        if (requests.length === 2) await gate;
        const response = await fetch(input, {
          ...init,
          headers: { ...init.headers, Authorization: `Bearer ${subscriber}` },
        });
        request.response = response;
        return response;
      },
    });
    source.onopen = changed;
    source.onerror = changed;
    source.onmessage = (event) => {
      received.push({ id: event.lastEventId, data: event.data });
      changed();
    };

    try {
      await until(() => source.readyState === EventSource.OPEN, "the first connection");
      // retry=50: the client's reconnection delay (3 s by default) becomes 50 ms.
      const live = [await send(1, { retry: "50" }), await send(2), await send(3)];
      // Not waiting for them to arrive: the first connection may end at any moment now, and what
      // it did not deliver the next one must.
      await until(() => requests.length === 2, "the hub to end the stream and the client to reconnect");
      const lastBeforeDrop = received.at(-1)?.id;
      assert.ok(lastBeforeDrop !== undefined, "an update arrived before the hub ended the first stream");
      assert.equal(requests[1]?.lastEventId, lastBeforeDrop, "the client reconnects from the last id it saw");
      const missed = [];
      for (let n = 4; n <= 8; n++) missed.push(await send(n));
      release();

      await until(() => requests[1]?.response !== undefined, "the reconnection's answer");
      const answer = requests[1]?.response;
      assert.equal(answer?.status, 200);
      assert.equal(answer?.headers.get("Last-Event-ID"), lastBeforeDrop);
      assert.equal(answer?.headers.get("Mercure-Last-Event-ID"), lastBeforeDrop);

      const later = [await send(9), await send(10)];
      const published = [...live, ...missed, ...later];
      // The last update was published live: once it arrived, whatever came before it did too.
      await until(() => received.some(({ id }) => id === published.at(-1)), "the last update");
      assert.deepEqual(
        received.map(({ id }) => id),
        published,
        "every update arrived exactly once, in publication order",
      );
      assert.deepEqual(
        received.map(({ data }) => data),
        published.map((_, index) => `book ${index + 1}`),
      );
    } finally {
      source.close();
      release();
    }
  });

  it("answers a legacy reconnection with both Last-Event-ID and Mercure-Last-Event-ID", async () => {
    const token = await legacyToken({ subscribe: [BOOKS] });
    const first = await send(100);
    await send(101);
    const url = subscribeUrl(hub.hubUrl, [["topic", BOOKS]]);

    const byHeader = await rawRequest(url, {
      headers: { Authorization: `Bearer ${token}`, "Last-Event-ID": first, Accept: "text/event-stream" },
    });
    assert.equal(byHeader.status, 200, byHeader.body);
    assert.equal(byHeader.headers["last-event-id"], first);
    assert.equal(byHeader.headers["mercure-last-event-id"], first);

    // Symfony's Twig helper (mercure() with lastEventId) puts the cursor in the URL instead.
    const byQuery = await rawRequest(subscribeUrl(url, [["lastEventID", first]]), {
      headers: { Authorization: `Bearer ${token}`, Accept: "text/event-stream" },
    });
    assert.equal(byQuery.status, 200, byQuery.body);
    assert.equal(byQuery.headers["last-event-id"], first);
    assert.equal(byQuery.headers["mercure-last-event-id"], first);
  });
});
