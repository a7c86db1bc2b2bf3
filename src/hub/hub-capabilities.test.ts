import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryTransport } from "../transports/memory.ts";
import { Hub } from "./hub.ts";
import { endedSubscriptionEvent, subscriptionStateOf } from "./subscription-event.ts";
import type { ReportsHealth, SharedTransport, Transport, TransportHealth } from "./transport.ts";
import { createUpdate, type Update } from "./update.ts";

/** An `active: true` event of another node, as a cluster's transport hands it over at open. */
function begunElsewhere(subscriber: string): Update {
  const id = `/.well-known/mercure/subscriptions/topic/${encodeURIComponent("https://example.com/a")}/${subscriber}`;
  const document = {
    id,
    type: "subscription",
    match_type: "topic",
    match: "https://example.com/a",
    subscriber,
    active: true,
    payload: null,
  };
  return createUpdate(
    {
      topics: [id],
      data: JSON.stringify(document),
      id: undefined,
      type: "mercure",
      retry: undefined,
      private: true,
    },
    "subscription",
  );
}

const OPTIONS = {
  heartbeatMs: 60_000,
  writeTimeoutMs: 60_000,
  maxLifetimeMs: 3_600_000,
  maxQueueBytes: 1 << 20,
};

/** A memory transport that also says it is shared, as node `node-a`, and reports `health`. */
class CapableTransport extends MemoryTransport implements Transport, ReportsHealth, SharedTransport {
  readonly nodeId = "node-a";
  current: TransportHealth = { healthy: true };
  atOpen: Update[] = [];

  activeSubscriptionsAtOpen(): readonly Update[] {
    return this.atOpen;
  }

  health(): TransportHealth {
    return this.current;
  }
}

describe("the hub detects a transport's optional capabilities", () => {
  it("reports its health and node id when it has them", async () => {
    const transport = new CapableTransport({ historySize: 10 });
    const hub = new Hub(transport, OPTIONS);
    assert.equal(hub.nodeId, "node-a");
    assert.equal(hub.storeFailure, undefined);
    transport.current = { healthy: false, reason: "commits fail: disk full" };
    assert.equal(hub.storeFailure, "commits fail: disk full");
    await hub.close();
  });

  it("does without them", async () => {
    const hub = new Hub(new MemoryTransport({ historySize: 10 }), OPTIONS);
    assert.equal(hub.nodeId, undefined);
    assert.equal(hub.storeFailure, undefined);
    await hub.close();
  });

  it("folds in the subscriptions other nodes began before it opened", async () => {
    const transport = new CapableTransport({ historySize: 10 });
    transport.atOpen = [begunElsewhere("urn:uuid:one"), begunElsewhere("urn:uuid:two")];
    const hub = new Hub(transport, { ...OPTIONS, subscriptions: { hubPath: "/.well-known/mercure" } });
    const listed = hub.subscriptions!.page(10, undefined, "modern").subscriptions;
    assert.deepEqual(
      listed.map((document) => document.subscriber),
      ["urn:uuid:one", "urn:uuid:two"],
    );
    // A node's goodbye, said for it, ends the subscription everywhere.
    await transport.publish(endedSubscriptionEvent(transport.atOpen[0]!));
    assert.deepEqual(
      hub.subscriptions!.page(10, undefined, "modern").subscriptions.map((document) => document.subscriber),
      ["urn:uuid:two"],
    );
    await hub.close();
  });
});

describe("subscription events as a cluster's transport reads them", () => {
  it("tells the subscription and whether it is active, and makes the event that ends it", () => {
    const begun = begunElsewhere("urn:uuid:one");
    assert.deepEqual(subscriptionStateOf(begun), { id: begun.topics[0], active: true });
    const ended = endedSubscriptionEvent(begun);
    assert.notEqual(ended.id, begun.id);
    assert.equal(ended.kind, "subscription");
    assert.equal(ended.private, true);
    assert.equal(ended.type, "mercure");
    assert.deepEqual(subscriptionStateOf(ended), { id: begun.topics[0], active: false });
    assert.deepEqual({ ...JSON.parse(ended.data), active: true }, JSON.parse(begun.data));
  });

  it("reads a published update as no subscription event, whatever it says", () => {
    const forged = createUpdate({
      topics: ["/.well-known/mercure/subscriptions/x"],
      data: JSON.stringify({ id: "/.well-known/mercure/subscriptions/x", active: true }),
      id: undefined,
      type: undefined,
      retry: undefined,
      private: false,
    });
    assert.equal(subscriptionStateOf(forged), undefined);
  });
});
