/**
 * `presence()` of `quicksilver/client` against a real hub with its subscriptions on: the list, then
 * the subscription events from the list's cursor, and a fresh list when that cursor is lost.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MercureForbiddenError, type Presence, presence } from "../src/client/index.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { startTestHub, type TestHub } from "./helpers/test-hub.ts";

const DOC = "https://example.com/documents/roadmap";
const VIEWERS = `/.well-known/mercure/subscriptions/exact/${encodeURIComponent(DOC)}`;

/** Resolves once `check` holds for the presence, checked at each change (and at once). */
function until(watch: Presence<{ name: string }>, check: (names: string[]) => boolean): Promise<string[]> {
  const names = () => [...watch.subscribers.values()].map((doc) => doc.payload!.name).sort();
  return new Promise((resolve) => {
    if (check(names())) resolve(names());
    const stop = watch.on("change", () => {
      if (!check(names())) return;
      stop();
      resolve(names());
    });
  });
}

describe("presence()", { timeout: 60_000 }, () => {
  let hub: TestHub;
  const streams: Stream[] = [];

  before(async () => {
    hub = await startTestHub({ subscriptions: true, "subscription-history-size": "4" });
  });
  after(async () => {
    for (const stream of streams) stream.close();
    await hub.close();
  });

  /** A token that may view the document and who views it, carrying `name` for the others. */
  const viewerToken = (name: string) =>
    hub.token({
      subscribe: [DOC, VIEWERS],
      subscribeUrlPattern: [`${VIEWERS}/:subscriber`],
      payload: { name },
    });

  /** Someone viewing the document: a subscriber to it. */
  async function view(name: string): Promise<Stream> {
    const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", DOC]]), {
      headers: { Authorization: `Bearer ${await viewerToken(name)}` },
    });
    streams.push(stream);
    return stream;
  }

  /** The names the hub's subscription API lists now. */
  async function listed(): Promise<string[]> {
    const response = await fetch(new URL(VIEWERS, hub.hubUrl), {
      headers: { Authorization: `Bearer ${await viewerToken("lister")}` },
    });
    const body = (await response.json()) as { subscriptions: { payload: { name: string } }[] };
    return body.subscriptions.map((doc) => doc.payload.name).sort();
  }

  it("lists who is there, then follows who joins and who leaves", async () => {
    const ada = await view("Ada");
    const watch = presence<{ name: string }>(hub.hubUrl, DOC, { token: await viewerToken("watcher") });
    const joined: string[] = [];
    const left: string[] = [];
    watch.on("join", (doc) => joined.push(doc.payload!.name));
    watch.on("leave", (doc) => left.push(doc.payload!.name));
    await watch.ready;
    assert.deepEqual(await until(watch, (names) => names.length === 1), ["Ada"]);
    const grace = await view("Grace");
    await until(watch, (names) => names.includes("Grace"));
    ada.close();
    assert.deepEqual(await until(watch, (names) => !names.includes("Ada")), ["Grace"]);
    grace.close();
    await until(watch, (names) => names.length === 0);
    assert.deepEqual({ joined, left }, { joined: ["Ada", "Grace"], left: ["Ada", "Grace"] });
    watch.close();
  });

  it("misses nothing of what changed between the list and the events: it ends as the hub's list", async () => {
    const churn: Promise<void>[] = [];
    // Viewers come and go while the presence lists and subscribes.
    for (let i = 0; i < 12; i++) {
      churn.push(
        view(`viewer ${i}`).then(async (stream) => {
          if (i % 2 === 0) stream.close();
        }),
      );
    }
    const watch = presence<{ name: string }>(hub.hubUrl, DOC, { token: await viewerToken("watcher") });
    await Promise.all(churn);
    const expected = ["viewer 1", "viewer 11", "viewer 3", "viewer 5", "viewer 7", "viewer 9"];
    assert.deepEqual(await listed(), expected, "the hub's own list");
    assert.deepEqual(await until(watch, (names) => names.join() === expected.join()), expected);
    watch.close();
    for (const stream of streams) stream.close();
    // Everyone left: the next test starts from an empty document.
    const empty = presence<{ name: string }>(hub.hubUrl, DOC, { token: await viewerToken("watcher") });
    await until(empty, (names) => names.length === 0);
    empty.close();
  });

  it("lists again when the events after its list are no longer kept", async () => {
    const before = await view("before");
    let releaseFirstStream!: () => void;
    const held = new Promise<void>((resolve) => {
      releaseFirstStream = resolve;
    });
    let secondStreamAsked!: () => void;
    const secondStream = new Promise<void>((resolve) => {
      secondStreamAsked = resolve;
    });
    let streams = 0;
    // The first stream waits until more subscription events came and went than the hub keeps (4).
    const slowFirstStream: typeof fetch = async (input, init) => {
      if ((new Headers(init?.headers).get("accept") ?? "").includes("text/event-stream")) {
        streams++;
        if (streams === 1) await held;
        if (streams === 2) secondStreamAsked();
      }
      return fetch(input, init);
    };
    const watch = presence<{ name: string }>(hub.hubUrl, DOC, {
      token: await viewerToken("watcher"),
      fetch: slowFirstStream,
    });
    try {
      await until(watch, (names) => names.includes("before"));
      before.close();
      const after = await view("after");
      for (let i = 0; i < 3; i++) (await view(`passing ${i}`)).close();
      releaseFirstStream();
      // The hub no longer has the list's cursor: the presence lists again and follows from there.
      await secondStream;
      assert.deepEqual(await until(watch, (names) => names.join() === "after"), ["after"]);
      assert.deepEqual(await listed(), ["after"]);
      after.close();
    } finally {
      watch.close();
    }
  });

  it("ends with the hub's refusal when the token may not see the viewers", async () => {
    const watch = presence(hub.hubUrl, DOC, { token: await hub.token({ subscribe: [DOC] }) });
    const ended = new Promise<unknown>((resolve) => watch.on("close", ({ error }) => resolve(error)));
    await assert.rejects(watch.ready, MercureForbiddenError);
    assert.ok((await ended) instanceof MercureForbiddenError);
  });
});
