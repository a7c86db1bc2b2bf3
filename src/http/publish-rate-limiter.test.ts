import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PublishRateLimiter } from "./publish-rate-limiter.ts";
import { HttpRefusal } from "./refusal.ts";

function refusal(action: () => void): HttpRefusal {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof HttpRefusal);
    return error;
  }
  assert.fail("no refusal was thrown");
}

describe("PublishRateLimiter", () => {
  it("takes a burst, refuses with the seconds until the next update, then refills at the rate", () => {
    let now = 1_000_000;
    const limiter = new PublishRateLimiter(2, 4, () => now);
    for (let i = 0; i < 4; i++) limiter.take("alice");
    const refused = refusal(() => limiter.take("alice"));
    assert.equal(refused.code, "publish_rate_exceeded");
    assert.equal(refused.status, 429);
    assert.equal(refused.limit, "publishRate");
    // One update every half second: the next in 0.5 s, said as a whole second.
    assert.equal(refused.headers["Retry-After"], "1");
    limiter.take("bob");
    now += 500;
    limiter.take("alice");
    assert.throws(() => limiter.take("alice"), HttpRefusal);
  });

  it("says a Retry-After of several seconds at a slow rate", () => {
    let now = 0;
    const limiter = new PublishRateLimiter(1, 1, () => now);
    limiter.take("alice");
    assert.equal(refusal(() => limiter.take("alice")).headers["Retry-After"], "1");
    now += 100;
    assert.equal(refusal(() => limiter.take("alice")).headers["Retry-After"], "1");
    // A rate below one per second (an embedder's): the next update in four seconds.
    const slow = new PublishRateLimiter(0.25, 3, () => now);
    for (let i = 0; i < 3; i++) slow.take("bob");
    assert.equal(refusal(() => slow.take("bob")).headers["Retry-After"], "4");
    now += 1500;
    assert.equal(refusal(() => slow.take("bob")).headers["Retry-After"], "3");
  });

  it("drops the buckets of publishers that have refilled", () => {
    let now = 0;
    const limiter = new PublishRateLimiter(10, 10, () => now);
    for (let i = 0; i < 100; i++) limiter.take(`publisher-${i}`);
    assert.equal(limiter.tracked, 100);
    // Each update looks at the two coldest buckets: 50 updates drop the 100 that refilled.
    for (let i = 0; i < 50; i++) {
      now += 1000;
      limiter.take("alice");
    }
    assert.equal(limiter.tracked, 1);
  });

  it("keeps at most its cap of publishers, dropping the least recently used", () => {
    const now = 0;
    const limiter = new PublishRateLimiter(1, 1, () => now, 3);
    for (const publisher of ["a", "b", "c", "d"]) limiter.take(publisher);
    assert.equal(limiter.tracked, 3);
    // a was dropped at the cap: it starts again from a full bucket; d was not.
    limiter.take("a");
    assert.throws(() => limiter.take("d"), HttpRefusal);
  });
});
