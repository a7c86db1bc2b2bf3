import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidMatcherError } from "../matcher.ts";
import { compileUrlPattern } from "./compile.ts";

const BASE_URL = "https://hub.example/.well-known/mercure";

function nativeAccepts(pattern: string): boolean {
  try {
    new URLPattern(pattern, BASE_URL);
    return true;
  } catch {
    return false;
  }
}

function assertRejected(pattern: string, code: InvalidMatcherError["code"], message?: RegExp): void {
  assert.throws(
    () => compileUrlPattern(pattern, BASE_URL),
    (error) => {
      assert.ok(error instanceof InvalidMatcherError, `${pattern}: ${error}`);
      assert.equal(error.code, code, `${pattern}: ${error.message}`);
      if (message) assert.match(error.message, message);
      return true;
    },
  );
}

describe("compileUrlPattern", () => {
  test("matches absolute and relative topics the way the standard does", () => {
    const compiled = compileUrlPattern("https://example.com/books/:id", BASE_URL);
    assert.equal(compiled.test("https://example.com/books/1"), true);
    assert.equal(compiled.test("https://example.com/books/1?lang=fr#top"), true);
    assert.equal(compiled.test("https://example.com/books/1/reviews"), false);
    assert.equal(compiled.test("https://EXAMPLE.com/books/1"), true);
    assert.equal(compiled.test("https://example.com:443/books/1"), true);
    assert.equal(compiled.test("https://example.com:8443/books/1"), false);
    assert.equal(compiled.test("http://example.com/books/1"), false);

    const relative = compileUrlPattern("/books/:id", BASE_URL);
    assert.equal(relative.test("/books/1"), true);
    assert.equal(relative.test("https://hub.example/books/1"), true);
    assert.equal(relative.test("https://example.com/books/1"), false);
    assert.equal(relative.test("books/1"), false, "resolves to /.well-known/books/1");
  });

  test("topics that are not URLs never match", () => {
    const everything = compileUrlPattern("*://*:*@*:*/*\\?*#*", BASE_URL);
    assert.equal(everything.test("https://example.com/"), true);
    for (const topic of [
      "https://exa mple.com/x",
      "http://",
      "https://example.com:99999/",
      "https://[::1/",
    ]) {
      assert.equal(everything.test(topic), false, topic);
      assert.equal(new URLPattern("*://*:*@*:*/*\\?*#*", BASE_URL).test(topic, BASE_URL), false, topic);
    }
  });

  test("groups keep their prefix even where Node's serialization of the pattern drops the braces", () => {
    // new URLPattern(p).pathname is "/books/page/:page?/list", which reads as a different pattern.
    const pattern = "https://example.com/books{/page/:page}?/list";
    const compiled = compileUrlPattern(pattern, BASE_URL);
    const native = new URLPattern(pattern, BASE_URL);
    for (const topic of [
      "https://example.com/books/list",
      "https://example.com/books/page/2/list",
      "https://example.com/books/page/list",
      "https://example.com/books/2/list",
    ]) {
      assert.equal(compiled.test(topic), native.test(topic, BASE_URL), topic);
    }
    assert.equal(compiled.test("https://example.com/books/list"), true);
  });

  test("describes how each component is matched", () => {
    assert.deepEqual(compileUrlPattern("https://*.example.com/books/*\\?lang=:lang", BASE_URL).describe(), {
      protocol: '"https"',
      username: "*",
      password: "*",
      hostname: "^(.*)\\.example\\.com$",
      port: '""',
      pathname: '"/books/"…',
      search: "^lang=([^]+?)$",
      hash: "*",
    });
    assert.deepEqual(compileUrlPattern("/books/:id(\\d+)", BASE_URL).describe(), {
      protocol: '"https"',
      username: "*",
      password: "*",
      hostname: '"hub.example"',
      port: '""',
      pathname: "^\\/books(?:\\/(\\d+))$",
      search: "*",
      hash: "*",
    });
  });

  test("fixed text is canonicalized like topics are", () => {
    const compiled = compileUrlPattern("HTTPS://BÜCHER.example/a/../Café/:id\\?q=a b#x y", BASE_URL);
    assert.deepEqual(compiled.describe(), {
      protocol: '"https"',
      username: "*",
      password: "*",
      hostname: '"xn--bcher-kva.example"',
      port: '""',
      pathname: "^\\/Caf%C3%A9(?:\\/([^\\/]+?))$",
      search: '"q=a%20b"',
      hash: '"x%20y"',
    });
    assert.equal(compiled.test("https://bücher.example/Café/1?q=a b#x y"), true);
    assert.equal(compiled.test("https://xn--bcher-kva.example/Caf%C3%A9/1?q=a%20b#x%20y"), true);
  });

  test("malformed patterns are urlpattern_syntax errors", () => {
    for (const pattern of [
      "https://example.com/:id(",
      "https://example.com/:id(\\d+",
      "https://example.com/{:id",
      "https://example.com/:",
      "https://example.com/:id/:id",
      "https://example.com/((a|a)*)*b",
      "https://example.com/:id(?:a)",
      "https://example.com/:id()",
      "https://example.com/:id([(])",
      "https://example.com/:id([^/]+)",
      "https://example.com/:id(\\%)",
      "https://example.com/:id(é)",
      "https://exa mple.com/*",
      "https://example.com:99999/*",
      "ht tp://example.com/*",
      "https://example.com/{{a}}",
    ]) {
      assert.equal(nativeAccepts(pattern), false, pattern);
      assertRejected(pattern, "urlpattern_syntax");
    }
    assert.throws(
      () => compileUrlPattern("/books/:id", "not a base"),
      (error) => error instanceof InvalidMatcherError && error.code === "urlpattern_syntax",
    );
  });

  test("backreferences, lookaround and oversized repetitions are urlpattern_unsupported errors", () => {
    for (const [pattern, construct] of [
      ["https://example.com/:id(a\\1)", /backreference/],
      ["https://example.com/:id((?<n>a)\\k<n>)", /named backreference/],
      ["https://example.com/:id((?=a)\\w+)", /lookahead/],
      ["https://example.com/:id((?!a)\\w+)", /negative lookahead/],
      ["https://example.com/:id((?<=a)b)", /lookbehind/],
      ["https://example.com/:id((?<!a)b)", /negative lookbehind/],
      ["https://example.com/:id((?i:a))", /modifier/],
      ["https://example.com/:id([\\q{ab}])", /string disjunction/],
      ["https://example.com/:id(\\p{RGI_Emoji})", /property of strings/],
      ["https://example.com/:id(a{1000})", /repetition count/],
      ["https://example.com/:id((?:(?:a{100}){100}){100})", /instructions/],
    ] as const) {
      assert.equal(nativeAccepts(pattern), true, pattern);
      assertRejected(pattern, "urlpattern_unsupported", construct);
    }
  });
});
