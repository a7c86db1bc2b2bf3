import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareStreamIds, redisKeys } from "./redis-keys.ts";

describe("Redis Stream ids as positions", () => {
  it("orders by milliseconds, then sequence, numerically rather than as text", () => {
    assert.ok(compareStreamIds("9-0", "10-0") < 0);
    assert.ok(compareStreamIds("5-9", "5-10") < 0);
    assert.ok(compareStreamIds("1700000000001-0", "1700000000000-99") > 0);
    assert.equal(compareStreamIds("1700000000000-3", "1700000000000-3"), 0);
  });
});

describe("the keys of a cluster", () => {
  it("all start with the prefix, so that its hash tag puts them in one slot", () => {
    const keys = Object.values(redisKeys("{cluster-a}"));
    assert.ok(keys.length > 5);
    assert.ok(keys.every((key) => key.startsWith("{cluster-a}:")));
    assert.equal(new Set(keys).size, keys.length, "no two concepts share a key");
  });
});
