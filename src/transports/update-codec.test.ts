import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createUpdate } from "../hub/update.ts";
import { decodeUpdate, encodeUpdate } from "./update-codec.ts";

describe("an update between processes", () => {
  it("arrives as it left, frame included", () => {
    for (const update of [
      createUpdate({
        topics: ["https://example.com/a", "/b"],
        data: "line one\nline two",
        id: "urn:uuid:1",
        type: "message",
        retry: "2000",
        private: true,
      }),
      createUpdate(
        { topics: ["/s"], data: "{}", id: undefined, type: undefined, retry: undefined, private: false },
        "subscription",
      ),
    ]) {
      const received = decodeUpdate(encodeUpdate(update));
      assert.deepEqual(received, update);
      assert.deepEqual(received.frame, update.frame);
    }
  });

  it("refuses what is not one", () => {
    for (const text of [
      "{}",
      '{"k":"update","i":"x","t":[],"d":""}',
      '{"k":"admin","i":"x","t":["/a"],"d":""}',
      "[]",
    ]) {
      assert.throws(() => decodeUpdate(text), SyntaxError);
    }
  });
});
