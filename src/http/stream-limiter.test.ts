import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HttpRefusal } from "./refusal.ts";
import { StreamLimiter } from "./stream-limiter.ts";

function refusal(action: () => void): HttpRefusal {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof HttpRefusal);
    return error;
  }
  assert.fail("no refusal was thrown");
}

const anonymous = (client: string) => ({ client, subject: undefined });

describe("StreamLimiter", () => {
  it("counts streams per client and gives each back on release", () => {
    const limiter = new StreamLimiter({
      maxConnections: 10,
      maxConnectionsPerClient: 2,
      maxConnectionsPerSubject: 5,
    });
    limiter.admit(anonymous("10.0.0.1"), 0);
    limiter.admit(anonymous("10.0.0.1"), 1);
    const refused = refusal(() => limiter.admit(anonymous("10.0.0.1"), 2));
    assert.equal(refused.code, "too_many_connections");
    assert.equal(refused.status, 429);
    assert.equal(refused.headers["Retry-After"], "5");
    assert.equal(refused.limit, "maxConnectionsPerClient");
    limiter.admit(anonymous("10.0.0.2"), 2);
    limiter.release(anonymous("10.0.0.1"));
    assert.equal(limiter.streamsFrom("10.0.0.1"), 1);
    limiter.admit(anonymous("10.0.0.1"), 2);
    limiter.release(anonymous("10.0.0.2"));
    assert.equal(limiter.streamsFrom("10.0.0.2"), 0);
  });

  it("refuses any client once the process holds maxConnections streams", () => {
    const limiter = new StreamLimiter({
      maxConnections: 3,
      maxConnectionsPerClient: 2,
      maxConnectionsPerSubject: 5,
    });
    const refused = refusal(() => limiter.admit(anonymous("10.0.0.9"), 3));
    assert.match(refused.message, /maxConnections\)/);
    assert.equal(refused.limit, "maxConnections");
    assert.equal(limiter.streamsFrom("10.0.0.9"), 0);
  });

  it("counts a subject's streams from every address, and not an anonymous subscriber's", () => {
    const limiter = new StreamLimiter({
      maxConnections: 10,
      maxConnectionsPerClient: 5,
      maxConnectionsPerSubject: 2,
    });
    limiter.admit({ client: "10.0.0.1", subject: "alice" }, 0);
    limiter.admit({ client: "10.0.0.2", subject: "alice" }, 1);
    const refused = refusal(() => limiter.admit({ client: "10.0.0.3", subject: "alice" }, 2));
    assert.equal(refused.limit, "maxConnectionsPerSubject");
    assert.equal(limiter.streamsFrom("10.0.0.3"), 0);
    limiter.admit({ client: "10.0.0.3", subject: "bob" }, 2);
    for (let i = 0; i < 3; i++) limiter.admit(anonymous("10.0.0.4"), 3 + i);
    limiter.release({ client: "10.0.0.1", subject: "alice" });
    assert.equal(limiter.streamsOf("alice"), 1);
    limiter.admit({ client: "10.0.0.3", subject: "alice" }, 6);
  });
});
