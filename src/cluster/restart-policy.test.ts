import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CRASH_WINDOW_MS, MAX_CRASHES, RestartPolicy } from "./restart-policy.ts";

describe("restarting workers", () => {
  it("waits longer after each exit within the window, up to a bound", () => {
    const policy = new RestartPolicy();
    const delays = Array.from({ length: MAX_CRASHES }, (_, i) => policy.exited(i));
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
  });

  it("stops past the most exits within the window, and says why", () => {
    const policy = new RestartPolicy();
    for (let i = 0; i < MAX_CRASHES; i++) assert.notEqual(policy.exited(i * 1000), undefined);
    assert.equal(policy.exited(MAX_CRASHES * 1000), undefined);
    assert.match(policy.reason, /exited 11 times within 60 s; stopping the hub/);
  });

  it("forgets exits older than the window", () => {
    const policy = new RestartPolicy();
    for (let i = 0; i < MAX_CRASHES; i++) policy.exited(i);
    assert.equal(policy.exited(CRASH_WINDOW_MS + MAX_CRASHES), 100, "a lone exit again");
  });
});
