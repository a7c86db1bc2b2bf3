import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeUtf8Header, encodeUtf8Header } from "./utf8-header.ts";

/** A string as node:http holds header values: one character per byte. */
function bytes(...values: number[]): string {
  return Buffer.from(values).toString("latin1");
}

describe("UTF-8 header values", () => {
  it("round-trips any well-formed text through its bytes", () => {
    for (const text of ["urn:uuid:1", "日本-1", "📚", 'a "quoted" \\ b', "é", "\u00ff\u0100", "a\tb", ""]) {
      const written = encodeUtf8Header(text);
      assert.equal(written, Buffer.from(text, "utf8").toString("latin1"));
      assert.equal(decodeUtf8Header(written!), text);
    }
  });

  it("decodes the bytes a browser sends, and nothing that is not UTF-8", () => {
    assert.equal(decodeUtf8Header(bytes(0xe6, 0x97, 0xa5, 0xe6, 0x9c, 0xac)), "日本");
    for (const invalid of [
      bytes(0xff),
      bytes(0x80),
      bytes(0xc3),
      bytes(0xc0, 0xaf), // overlong
      bytes(0xed, 0xa0, 0x80), // a surrogate
      bytes(0xf0, 0x9f, 0x93), // truncated
      bytes(0xf4, 0x90, 0x80, 0x80), // beyond U+10FFFF
    ]) {
      assert.equal(decodeUtf8Header(invalid), undefined, JSON.stringify(invalid));
    }
  });

  it("refuses what cannot be a header value that reads back the same", () => {
    for (const text of ["a\r\nb", "a\nb", "a\u0000", "a\u007f", " a", "a ", "\ta", "\uD800", "a\uDC00b"]) {
      assert.equal(encodeUtf8Header(text), undefined, JSON.stringify(text));
    }
  });
});
