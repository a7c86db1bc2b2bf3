import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headerToText, textToHeader } from "./header-bytes.ts";

describe("header bytes", () => {
  it("carries an id beyond ASCII as its UTF-8 bytes, one character per byte", () => {
    assert.equal(textToHeader("é"), "\u00c3\u00a9");
    assert.equal(headerToText("\u00c3\u00a9"), "é");
    assert.equal(headerToText(textToHeader("livre 📚 n°1")), "livre 📚 n°1");
  });

  it("leaves ASCII as it is", () => {
    assert.equal(textToHeader("urn:uuid:1"), "urn:uuid:1");
    assert.equal(headerToText("urn:uuid:1"), "urn:uuid:1");
  });
});
