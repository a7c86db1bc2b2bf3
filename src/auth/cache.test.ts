import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { VerifiedTokenCache } from "./cache.ts";

function clock(start = 1_000_000) {
  let time = start;
  return { now: () => time, advance: (ms: number) => (time += ms) };
}

describe("VerifiedTokenCache", () => {
  it("keeps an entry until the token expires", () => {
    const c = clock();
    const cache = new VerifiedTokenCache<string>({ maxEntries: 10, maxAgeMs: 60_000, now: c.now });
    cache.set("t", "grants", c.now() + 10_000);
    c.advance(9_999);
    assert.equal(cache.get("t"), "grants");
    c.advance(1);
    assert.equal(cache.get("t"), undefined);
    assert.equal(cache.size, 0);
  });

  it("keeps an entry no longer than maxAgeMs, even for a long-lived token", () => {
    const c = clock();
    const cache = new VerifiedTokenCache<string>({ maxEntries: 10, maxAgeMs: 60_000, now: c.now });
    cache.set("t", "grants", c.now() + 3_600_000);
    c.advance(59_999);
    assert.equal(cache.get("t"), "grants");
    c.advance(1);
    assert.equal(cache.get("t"), undefined);
  });

  it("does not store an already expired value", () => {
    const c = clock();
    const cache = new VerifiedTokenCache<string>({ maxEntries: 10, maxAgeMs: 60_000, now: c.now });
    cache.set("t", "grants", c.now());
    assert.equal(cache.size, 0);
  });

  it("evicts the least recently used entry when full", () => {
    const c = clock();
    const cache = new VerifiedTokenCache<string>({ maxEntries: 2, maxAgeMs: 60_000, now: c.now });
    cache.set("a", "A", undefined);
    cache.set("b", "B", undefined);
    assert.equal(cache.get("a"), "A"); // a is now the most recent
    cache.set("c", "C", undefined);
    assert.equal(cache.size, 2);
    assert.equal(cache.get("b"), undefined);
    assert.equal(cache.get("a"), "A");
    assert.equal(cache.get("c"), "C");
  });

  it("stores nothing when maxEntries is 0", () => {
    const c = clock();
    const cache = new VerifiedTokenCache<string>({ maxEntries: 0, maxAgeMs: 60_000, now: c.now });
    cache.set("a", "A", undefined);
    assert.equal(cache.get("a"), undefined);
  });
});
