import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, before, describe, it } from "node:test";
import {
  CHANNELS,
  type ConnectionClosedMessage,
  type ConnectionOpenedMessage,
  type UpdateDispatchedMessage,
} from "../src/hub/diagnostics.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

/** Every message published to one channel while the test listens. */
class Recorded<T> {
  readonly messages: T[] = [];
  readonly #name: string;
  #waiters: (() => void)[] = [];
  readonly #listener = (message: unknown) => {
    this.messages.push(message as T);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  };

  constructor(name: string) {
    this.#name = name;
    subscribe(name, this.#listener);
  }

  /** Resolves with the first message, from `from` on, for which `predicate` holds. */
  async waitFor(predicate: (message: T) => boolean, from = 0): Promise<T> {
    for (;;) {
      const found = this.messages.slice(from).find(predicate);
      if (found !== undefined) return found;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  stop(): void {
    unsubscribe(this.#name, this.#listener);
  }
}

describe("diagnostics channels", { timeout: 30_000 }, () => {
  let hub: TestHub;
  let token: string;
  let opened: Recorded<ConnectionOpenedMessage>;
  let closed: Recorded<ConnectionClosedMessage>;
  let dispatched: Recorded<UpdateDispatchedMessage>;
  const streams: Stream[] = [];

  before(async () => {
    opened = new Recorded(CHANNELS.connectionOpened);
    closed = new Recorded(CHANNELS.connectionClosed);
    dispatched = new Recorded(CHANNELS.updateDispatched);
    hub = await startTestHub({ anonymous: true });
    token = await hub.token({ publish: ["*"] });
  });
  after(async () => {
    for (const stream of streams) stream.close();
    await hub.close();
    for (const recorded of [opened, closed, dispatched]) recorded.stop();
  });

  async function stream(parameters: [string, string][]): Promise<Stream> {
    const open = await openStream(subscribeUrl(hub.hubUrl, parameters));
    streams.push(open);
    assert.equal(open.status, 200);
    return open;
  }

  async function published(topic: string, fields: Record<string, string> = {}): Promise<string> {
    const result = await publish(hub, { topic, data: "d", ...fields }, { token });
    assert.equal(result.status, 200, result.body);
    return result.body;
  }

  it("reports a stream opened and closed, with its subscriber, matchers and close reason", async () => {
    const from = opened.messages.length;
    const watcher = await stream([
      ["match", "https://example.com/opened/a"],
      ["match", "https://example.com/opened/b"],
    ]);
    const message = await opened.waitFor(() => true, from);
    assert.match(message.subscriber, /^urn:uuid:/);
    assert.deepEqual(message, { subscriber: message.subscriber, matchers: 2, replayed: false });
    watcher.close();
    const end = await closed.waitFor((m) => m.subscriber === message.subscriber);
    assert.deepEqual(end, { subscriber: message.subscriber, reason: "client_left" });
  });

  it("says whether a stream was sent a replay", async () => {
    const topic = "https://example.com/replayed";
    const cursor = await published(topic);
    const from = opened.messages.length;
    await stream([
      ["match", topic],
      ["last_event_id", cursor],
    ]);
    const message = await opened.waitFor(() => true, from);
    assert.deepEqual(message, { subscriber: message.subscriber, matchers: 1, replayed: true });
  });

  it("reports each update dispatched with the number of streams it was offered to, each once", async () => {
    const topic = "https://example.com/dispatched/1";
    // Two streams select the topic, one of them through two matchers; one stream selects another.
    const twice = await stream([
      ["match", topic],
      ["match_urlpattern", "https://example.com/dispatched/:id"],
    ]);
    await stream([["match", topic]]);
    await stream([["match", "https://example.com/elsewhere"]]);
    const id = await published(topic);
    const message = await dispatched.waitFor((m) => m.id === id);
    assert.deepEqual(message, { id, kind: "update", private: false, matched: 2 });
    assert.equal((await twice.waitForEvents(1)).length, 1, "sent once to the stream selecting it twice");

    const nobody = await published("https://example.com/nobody");
    assert.equal((await dispatched.waitFor((m) => m.id === nobody)).matched, 0);
  });

  it("counts only the streams that may read a private update", async () => {
    const topic = "https://example.com/dispatched/private";
    await stream([["match", topic]]); // anonymous: no grant on the topic
    const id = await published(topic, { private: "on" });
    assert.deepEqual(await dispatched.waitFor((m) => m.id === id), {
      id,
      kind: "update",
      private: true,
      matched: 0,
    });
  });

  it("reports the streams a shutdown closes", async () => {
    const own = await startTestHub({ anonymous: true });
    const from = opened.messages.length;
    const open = await openStream(subscribeUrl(own.hubUrl, [["match", "https://example.com/shutdown"]]));
    const message = await opened.waitFor(() => true, from);
    await own.close();
    assert.deepEqual(await closed.waitFor((m) => m.subscriber === message.subscriber), {
      subscriber: message.subscriber,
      reason: "shutdown",
    });
    open.close();
  });
});
