import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelay } from "./backoff.ts";

describe("backoffDelay", () => {
  const bounds = { minDelayMs: 100, maxDelayMs: 1000 };

  it("draws up to a bound that doubles with each attempt, up to the maximum", () => {
    const highest = (attempt: number) => backoffDelay(attempt, bounds, 0, () => 0.999999);
    assert.deepEqual([0, 1, 2, 3, 4, 10, 1000].map(highest), [99, 199, 399, 799, 999, 999, 999]);
  });

  it("is fully jittered: anywhere from 0", () => {
    assert.equal(
      backoffDelay(5, bounds, 0, () => 0),
      0,
    );
  });

  it("is never below the floor (the hub's retry, or Retry-After)", () => {
    assert.equal(
      backoffDelay(0, bounds, 5000, () => 0.5),
      5000,
    );
    assert.equal(
      backoffDelay(3, bounds, 10, () => 0.5),
      400,
    );
  });
});
