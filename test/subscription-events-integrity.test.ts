import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type ResponseWatcher, watchSubscribeResponses } from "./helpers/server-streams.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

const SUBS = "/.well-known/mercure/subscriptions";

/**
 * Topics that begin, as strings, with the subscriptions namespace but resolve outside it once dot
 * segments are removed (here to /.well-known/x): publishing them is allowed, and they must stay
 * ordinary updates.
 */
const ESCAPING = `${SUBS}/exact/forged/urn%3Auuid%3Afake/../../../../../x`;
const ESCAPING_ENCODED = `${SUBS}/%2e%2e/%2e%2e/%2e%2e/y`;

interface Doc {
  id: string;
  match: string;
  subscriber: string;
  active: boolean;
}

const directory = mkdtempSync(join(tmpdir(), "quicksilver-subscription-events-"));
after(() => rmSync(directory, { recursive: true, force: true }));
let stores = 0;

/** Both kinds of history: in memory, and the durable store, which dispatches from a batch. */
const TRANSPORTS = {
  memory: () => "memory",
  sqlite: () => `sqlite:${join(directory, `${++stores}.db`)}`,
};

async function withHub(flags: Record<string, string | boolean>, body: (hub: TestHub) => Promise<void>) {
  const hub = await startTestHub(flags);
  try {
    await body(hub);
  } finally {
    await hub.close();
  }
}

async function list(hub: TestHub, token: string): Promise<Doc[]> {
  const response = await fetch(new URL(SUBS, hub.origin), { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
  return ((await response.json()) as { subscriptions: Doc[] }).subscriptions;
}

async function open(hub: TestHub, parameters: [string, string][], token?: string): Promise<Stream> {
  const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  const stream = await openStream(subscribeUrl(hub.hubUrl, parameters), { headers });
  assert.equal(stream.status, 200);
  return stream;
}

for (const [name, transport] of Object.entries(TRANSPORTS)) {
  describe(`subscription events come from the hub alone (${name} history)`, { timeout: 60_000 }, () => {
    it("delivers a published update whose topic only looks like a subscription event as an update", async () => {
      await withHub({ subscriptions: true, transport: transport() }, async (hub) => {
        const publisher = await hub.token({ publish: ["*"] });
        const reader = await hub.token({ subscribe: ["*"] });
        const stream = await open(hub, [["match", "*"]], reader);
        for (const topic of [ESCAPING, ESCAPING_ENCODED]) {
          const result = await publish(hub, { topic, data: "not json" }, { token: publisher });
          assert.equal(result.status, 200, result.body);
        }
        // The hub is alive and still delivers: the two updates, then one more.
        const last = await publish(
          hub,
          { topic: "https://example.com/after", data: "after" },
          { token: publisher },
        );
        assert.equal(last.status, 200);
        const events = (await stream.waitForEvents(4)).filter((event) => event.type !== "mercure");
        assert.deepEqual(
          events.map((event) => event.data),
          ["not json", "not json", "after"],
        );
        const health = await fetch(new URL("/healthz", hub.origin));
        assert.equal(health.status, 200);
        stream.close();
      });
    });

    it("never lets a publisher add a subscription to the list or remove one from it", async () => {
      await withHub({ subscriptions: true, transport: transport() }, async (hub) => {
        const publisher = await hub.token({ publish: ["*"] });
        const watcher = await hub.token({ subscribe: ["*"] });
        const real = await open(
          hub,
          [["match", "https://example.com/real"]],
          await hub.token({ subscribe: ["x"] }),
        );
        const [document] = (await list(hub, watcher)).filter(
          (doc) => doc.match === "https://example.com/real",
        );
        assert.ok(document, "the real subscription is listed");
        const forged: Doc & Record<string, unknown> = {
          id: `${SUBS}/exact/forged/urn%3Auuid%3Afake`,
          type: "subscription",
          match_type: "exact",
          match: "forged",
          subscriber: "urn:uuid:fake",
          active: true,
        };
        const attempts = [forged, { ...document, active: false }];
        for (const data of attempts) {
          const result = await publish(
            hub,
            { topic: ESCAPING, data: JSON.stringify(data) },
            { token: publisher },
          );
          assert.equal(result.status, 200, result.body);
        }
        const after = await list(hub, watcher);
        assert.deepEqual(
          after.map((doc) => doc.match).sort(),
          ["https://example.com/real"],
          "the list holds the real subscription, and only it",
        );
        real.close();
      });
    });
  });

  describe(`subscribers and history (${name} history)`, { timeout: 60_000 }, () => {
    it("cannot push published updates out of history by subscribing", async () => {
      await withHub(
        { subscriptions: true, anonymous: true, "history-size": "5", transport: transport() },
        async (hub) => {
          const publisher = await hub.token({ publish: ["*"] });
          const ids: string[] = [];
          for (let i = 0; i < 5; i++) {
            const result = await publish(
              hub,
              { topic: "https://example.com/real", data: `${i}` },
              { token: publisher },
            );
            ids.push(result.body);
          }
          // 40 cheap anonymous streams of two matchers each: 80 starts and 80 ends announced.
          const responses: ResponseWatcher = watchSubscribeResponses(hub.server);
          for (let i = 0; i < 40; i++) {
            const stream = await open(hub, [
              ["match", `https://example.com/noise/${i}`],
              ["match_urlpattern", `https://example.com/noise/${i}/:x`],
            ]);
            stream.close();
          }
          await responses.waitForClosed(40);
          responses.stop();
          const back = await open(hub, [
            ["match", "https://example.com/real"],
            ["last_event_id", ids[0]!],
          ]);
          assert.equal(back.headers["mercure-last-event-id"], ids[0], "the cursor is still in history");
          const replayed = await back.waitForEvents(4);
          assert.deepEqual(
            replayed.map((event) => event.data),
            ["1", "2", "3", "4"],
          );
          back.close();
        },
      );
    });

    it("keeps subscription events under their own bound", async () => {
      await withHub(
        { subscriptions: true, anonymous: true, "subscription-history-size": "4", transport: transport() },
        async (hub) => {
          const watcher = await hub.token({ subscribe: ["*"] });
          const streams: Stream[] = [];
          for (let i = 0; i < 6; i++)
            streams.push(await open(hub, [["match", `https://example.com/s/${i}`]]));
          // The six starts are dispatched (listed): the replay holds the four newest, then the
          // watcher's own start comes live.
          assert.equal((await list(hub, watcher)).length, 6);
          const back = await open(
            hub,
            [
              ["match", "*"],
              ["last_event_id", "earliest"],
            ],
            watcher,
          );
          const events = await back.waitForEvents(5);
          assert.deepEqual(
            events.map((event) => (JSON.parse(event.data) as Doc).match),
            [
              "https://example.com/s/2",
              "https://example.com/s/3",
              "https://example.com/s/4",
              "https://example.com/s/5",
              "*",
            ],
          );
          for (const stream of [...streams, back]) stream.close();
        },
      );
    });
  });
}
