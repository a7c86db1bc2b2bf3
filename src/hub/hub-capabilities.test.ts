import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryTransport } from "../transports/memory.ts";
import { Hub } from "./hub.ts";
import type { ReportsHealth, SharedTransport, Transport, TransportHealth } from "./transport.ts";

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
});
