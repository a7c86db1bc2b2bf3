import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CompiledUrlPattern } from "../src/matching/urlpattern/compile.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

/**
 * A subscriber chooses its URL Patterns, and each costs (topic length × program size) per topic
 * tested. A private update can only reach subscribers whose token grants one of its topics, so
 * testing it against the patterns of subscribers who may not read it is work an attacker gets
 * for free. With --subscriptions it was unbounded: the hub announces each matcher of a new stream
 * in a private event whose topic embeds the matcher, so one anonymous request with 64 costly
 * patterns had the hub test 64 topics of the attacker's length against 64 patterns of the
 * attacker's size, and stalled it for tens of seconds.
 *
 * These tests count the evaluations of the patterns of a subscriber without grants (the hub runs in
 * this process): none for private updates, live or replayed; public ones are still matched.
 */
const MARKER = "zqzq";
/** Distinct costly patterns: every `*` is a repetition the automaton tries at each position. */
const attackPatterns = (count: number) =>
  Array.from({ length: count }, (_, i) => `/*${MARKER}*a*a*a*a*a*a*a*a*b${i}`);

let evaluations = 0;
const originalTest = CompiledUrlPattern.prototype.test;
before(() => {
  CompiledUrlPattern.prototype.test = function (this: CompiledUrlPattern, topic: string) {
    if (this.describe().pathname.includes(MARKER)) evaluations++;
    return originalTest.call(this, topic);
  };
});
after(() => {
  CompiledUrlPattern.prototype.test = originalTest;
});

async function withHub(flags: Record<string, string | boolean>, body: (hub: TestHub) => Promise<void>) {
  const hub = await startTestHub({ anonymous: true, ...flags });
  try {
    await body(hub);
  } finally {
    await hub.close();
  }
}

async function open(hub: TestHub, parameters: [string, string][], token?: string): Promise<Stream> {
  const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  const stream = await openStream(subscribeUrl(hub.hubUrl, parameters), { headers });
  if (stream.status !== 200) assert.fail(`${stream.status}: ${await stream.body}`);
  await stream.waitForComments(1);
  return stream;
}

describe("a subscriber's patterns cost nothing for private updates it cannot read", {
  timeout: 60_000,
}, () => {
  it("is not matched against the subscription events of its own matchers (--subscriptions)", async () => {
    await withHub({ subscriptions: true }, async (hub) => {
      // Reads every subscription event, through the wildcard: no pattern of its own.
      const reader = await hub.token({ subscribeUrlPattern: ["/.well-known/mercure/subscriptions/*"] });
      const watcher = await open(hub, [["match", "*"]], reader);
      evaluations = 0;
      const patterns = attackPatterns(8);
      const attacker = await open(
        hub,
        patterns.map((pattern) => ["match_urlpattern", pattern]),
      );
      // The reader's own subscription, then one event per matcher: all dispatched once it has them.
      const events = await watcher.waitForEvents(1 + patterns.length);
      assert.deepEqual(events.map((event) => JSON.parse(event.data).match).sort(), ["*", ...patterns].sort());
      assert.equal(evaluations, 0, "the attacker's patterns were tested against private events");
      attacker.close();
      watcher.close();
    });
  });

  it("is not matched against private updates, live or replayed; public ones still reach it", async () => {
    await withHub({}, async (hub) => {
      const publisher = await hub.token({ publish: ["*"] });
      const topic = `${new URL(hub.hubUrl).origin}/${MARKER}aaaaaaaab0`;
      for (let i = 0; i < 3; i++) {
        const result = await publish(
          hub,
          { topic, data: `history ${i}`, private: "on" },
          { token: publisher },
        );
        assert.equal(result.status, 200, result.body);
      }
      evaluations = 0;
      const attacker = await open(hub, [
        ...attackPatterns(4).map((pattern): [string, string] => ["match_urlpattern", pattern]),
        ["last_event_id", "earliest"],
      ]);
      assert.equal(evaluations, 0, "replayed private updates were tested against the patterns");
      const live = await publish(hub, { topic, data: "live", private: "on" }, { token: publisher });
      assert.equal(live.status, 200, live.body);
      assert.equal(evaluations, 0, "a live private update was tested against the patterns");
      // Dispatched after the private one: once it arrives, the private one was handled.
      const shown = await publish(hub, { topic, data: "public" }, { token: publisher });
      assert.equal(shown.status, 200, shown.body);
      const [event] = await attacker.waitForEvents(1);
      assert.equal(event!.data, "public");
      assert.ok(evaluations > 0, "public updates are matched against the patterns");
      attacker.close();
    });
  });
});
