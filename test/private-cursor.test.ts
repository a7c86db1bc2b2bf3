import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openStream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

const TOPIC = "https://example.com/secret/1";

/** Reconnects to TOPIC with `cursor`; returns the anchor and the data of the events before `end`. */
async function reconnect(hub: TestHub, cursor: string, token?: string) {
  const headers: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  const stream = await openStream(
    subscribeUrl(hub.hubUrl, [
      ["match", TOPIC],
      ["last_event_id", cursor],
    ]),
    { headers },
  );
  assert.equal(stream.status, 200);
  const data: string[] = [];
  for (let n = 1; data.at(-1) !== "end"; n++) data.push((await stream.waitForEvents(n))[n - 1]!.data);
  stream.close();
  return { anchor: stream.headers["mercure-last-event-id"], data: data.slice(0, -1) };
}

describe("a cursor naming a private update", { timeout: 30_000 }, () => {
  it("is answered as an unknown cursor to a subscriber that may not read it", async () => {
    const hub = await startTestHub({ anonymous: true });
    try {
      const publisher = await hub.token({ publish: ["*"] });
      const send = async (fields: Record<string, string>) => {
        const result = await publish(hub, { topic: TOPIC, ...fields }, { token: publisher });
        assert.equal(result.status, 200, result.body);
      };
      await send({ data: "public before" });
      await send({ id: "secret-1", data: "private", private: "on" });
      await send({ data: "public after" });
      await send({ data: "end" });

      // Anonymous, and with a token that grants another topic: the same answer as for an id that
      // was never published, which confirms nothing.
      const outsider = await hub.token({ subscribe: ["https://example.com/other"] });
      for (const token of [undefined, outsider]) {
        const known = await reconnect(hub, "secret-1", token);
        const unknown = await reconnect(hub, "never-published", token);
        assert.deepEqual(known, { anchor: "earliest", data: ["public before", "public after"] });
        assert.deepEqual(known, unknown);
      }
      // A subscriber that may read it resumes after it, as usual.
      const reader = await hub.token({ subscribe: [TOPIC] });
      assert.deepEqual(await reconnect(hub, "secret-1", reader), {
        anchor: "secret-1",
        data: ["public after"],
      });
    } finally {
      await hub.close();
    }
  });
});
