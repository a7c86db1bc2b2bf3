import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, before, describe, it } from "node:test";
import { CHANNELS, type PublishRefusedMessage } from "../src/hub/diagnostics.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

describe("the publishRefused diagnostics channel", () => {
  let hub: TestHub;
  const seen: PublishRefusedMessage[] = [];
  const listener = (message: unknown) => seen.push(message as PublishRefusedMessage);

  before(async () => {
    hub = await startTestHub({ anonymous: true, "max-body-bytes": "1024" });
    subscribe(CHANNELS.publishRefused, listener);
  });
  after(async () => {
    unsubscribe(CHANNELS.publishRefused, listener);
    await hub.close();
  });

  it("tells the code and status of each refused publish, and nothing of other refusals", async () => {
    const token = await hub.token({ publish: ["*"] });
    const missing = await publish(hub, { topic: "https://example.com/a", data: "x" });
    assert.equal(missing.status, 401);
    const tooLarge = await publish(
      hub,
      { topic: "https://example.com/a", data: "x".repeat(2048) },
      { token },
    );
    assert.equal(tooLarge.status, 413);
    // A refused subscription and a request for nothing are not publishes.
    assert.equal((await fetch(`${hub.origin}/nowhere`, { method: "POST", body: "x" })).status, 404);
    assert.equal((await fetch(`${hub.hubUrl}?match=x`, { headers: { Accept: "text/plain" } })).status, 406);
    const published = await publish(hub, { topic: "https://example.com/a", data: "x" }, { token });
    assert.equal(published.status, 200);

    assert.deepEqual(seen, [
      { code: "token_missing", status: 401 },
      { code: "body_too_large", status: 413 },
    ]);
  });
});
