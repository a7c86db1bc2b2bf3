import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileMatcher } from "../matching/compile.ts";
import { MemoryTransport } from "../transports/memory.ts";
import { Hub } from "./hub.ts";
import type { StreamSink } from "./stream-sink.ts";
import type { Position, UpdateListener } from "./transport.ts";
import type { Update } from "./update.ts";

const TOPIC = "https://example.com/lagging";
const HUB_URL = "https://hub.example/.well-known/mercure";

/**
 * History in memory, and a live feed that hands updates over only when told: as a hub sharing
 * Redis with others reads them, some time after another hub stored them, while a replay here may
 * already have read them from history.
 */
class LaggingFeedTransport extends MemoryTransport {
  readonly #waiting: { update: Update; position: Position }[] = [];
  #listener: UpdateListener = () => {};

  override listen(listener: UpdateListener): void {
    this.#listener = listener;
    super.listen((update, position) => this.#waiting.push({ update, position }));
  }

  /** Hands over every update stored so far. */
  catchUp(): void {
    for (const { update, position } of this.#waiting.splice(0)) this.#listener(update, position);
  }
}

function recordingSink() {
  const ids: string[] = [];
  const sink: StreamSink = {
    start: () => {},
    write: (frames) => {
      for (const frame of frames) {
        const id = /^id: (.*)$/m.exec(frame.toString())?.[1];
        if (id !== undefined) ids.push(id);
      }
      return true;
    },
    onDrain: () => {},
    onClose: () => {},
    end: () => {},
    destroy: () => {},
  };
  return { sink, ids };
}

const settle = () => new Promise(setImmediate);

function publish(hub: Hub, id: string): Promise<Update> {
  return hub.publish({ topics: [TOPIC], data: id, id, type: undefined, retry: undefined, private: false });
}

describe("a replay ahead of the live feed", () => {
  it("sends each update once: what the replay read is skipped when the feed brings it", async () => {
    const transport = new LaggingFeedTransport({ historySize: 100 });
    const hub = new Hub(transport, {
      heartbeatMs: 60_000,
      writeTimeoutMs: 60_000,
      maxLifetimeMs: 3_600_000,
      maxQueueBytes: 1 << 20,
    });
    try {
      await publish(hub, "u1");
      await publish(hub, "u2");
      await publish(hub, "u3");
      transport.catchUp();
      // Stored, not yet handed over: the replay from u1 reads u2, u3 and u4 from history.
      await publish(hub, "u4");
      const { sink, ids } = recordingSink();
      await hub.subscribe({
        matchers: [compileMatcher("exact", TOPIC, HUB_URL, { maxPatternLength: 100 })],
        grants: undefined,
        cursor: "u1",
        sink,
      });
      await settle();
      assert.deepEqual(ids, ["u2", "u3", "u4"], "the replay");
      await publish(hub, "u5");
      transport.catchUp(); // u4, which the replay sent, then u5
      await settle();
      assert.deepEqual(ids, ["u2", "u3", "u4", "u5"], "u4 once, and live from u5");
      await publish(hub, "u6");
      transport.catchUp();
      await settle();
      assert.deepEqual(ids, ["u2", "u3", "u4", "u5", "u6"]);
    } finally {
      await hub.close();
    }
  });
});
