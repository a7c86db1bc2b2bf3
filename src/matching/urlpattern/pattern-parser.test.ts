import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DEFAULT_OPTIONS,
  HOSTNAME_OPTIONS,
  PATHNAME_OPTIONS,
  type Part,
  type PatternOptions,
  PatternSyntaxError,
  parsePatternString,
  tokenize,
} from "./pattern-parser.ts";
import { generateRegexpAndNames } from "./regexp-source.ts";

function tokens(input: string, policy: "strict" | "lenient" = "strict"): string[] {
  return tokenize(input, policy).map((token) => `${token.type}:${token.value}`);
}

function part(fields: Partial<Part> & Pick<Part, "type">): Part {
  return { value: "", modifier: "none", name: "", prefix: "", suffix: "", ...fields };
}

function regexp(pattern: string, options: PatternOptions): string {
  return generateRegexpAndNames(parsePatternString(pattern, options), options).source;
}

describe("tokenize", () => {
  test("splits a pattern string into tokens", () => {
    assert.deepEqual(tokens("/a/:id(\\d+)?{x}*\\:"), [
      "char:/",
      "char:a",
      "char:/",
      "name:id",
      "regexp:\\d+",
      "other-modifier:?",
      "open:{",
      "char:x",
      "close:}",
      "asterisk:*",
      "escaped-char::",
      "end:",
    ]);
    assert.deepEqual(tokens(":é$_1-"), ["name:é$_1", "char:-", "end:"]);
    assert.deepEqual(tokens("((?:a)b)"), ["regexp:(?:a)b", "end:"]);
  });

  test("strict mode throws on tokenizing errors", () => {
    for (const input of ["\\", ":", ":1", "(", "()", "(?:a)", "((a))", "(é)", "(a", "(\\"]) {
      assert.throws(() => tokenize(input), PatternSyntaxError, input);
    }
  });

  test("lenient mode turns them into invalid-char tokens", () => {
    assert.deepEqual(tokens("a:(b", "lenient"), [
      "char:a",
      "invalid-char::",
      "invalid-char:(",
      "char:b",
      "end:",
    ]);
    assert.deepEqual(tokens("\\", "lenient"), ["invalid-char:\\", "end:"]);
  });
});

describe("parse a pattern string", () => {
  test("named groups take the options' prefix code point", () => {
    assert.deepEqual(parsePatternString("/books/:id", PATHNAME_OPTIONS), [
      part({ type: "fixed-text", value: "/books" }),
      part({ type: "segment-wildcard", name: "id", prefix: "/" }),
    ]);
    // With the default options, "/" is fixed text.
    assert.deepEqual(parsePatternString("/books/:id", DEFAULT_OPTIONS), [
      part({ type: "fixed-text", value: "/books/" }),
      part({ type: "segment-wildcard", name: "id" }),
    ]);
  });

  test("groups, wildcards, regexps and modifiers", () => {
    assert.deepEqual(parsePatternString("{/a/:x}?/*+(\\d+)(.*){b}*", PATHNAME_OPTIONS), [
      part({ type: "segment-wildcard", name: "x", prefix: "/a/", modifier: "optional" }),
      part({ type: "full-wildcard", name: "0", prefix: "/", modifier: "one-or-more" }),
      part({ type: "regexp", value: "\\d+", name: "1" }),
      part({ type: "full-wildcard", name: "2" }),
      part({ type: "fixed-text", value: "b", modifier: "zero-or-more" }),
    ]);
    assert.deepEqual(parsePatternString(":a([^\\.]+?)", HOSTNAME_OPTIONS), [
      part({ type: "segment-wildcard", name: "a" }),
    ]);
  });

  test("rejects what the standard rejects", () => {
    for (const input of ["{a{b}}", "{a", "a}", ":a:a", "{:a:b}", "*?*?("]) {
      assert.throws(() => parsePatternString(input, DEFAULT_OPTIONS), PatternSyntaxError, input);
    }
  });

  test("applies the encoding callback to fixed text, prefixes and suffixes", () => {
    const parts = parsePatternString("/A{/B:c.D}?", PATHNAME_OPTIONS, (value) => value.toLowerCase());
    assert.deepEqual(parts, [
      part({ type: "fixed-text", value: "/a" }),
      part({ type: "segment-wildcard", name: "c", prefix: "/b", suffix: ".d", modifier: "optional" }),
    ]);
  });
});

describe("generate a regular expression", () => {
  test("produces the standard's regular expressions", () => {
    assert.equal(regexp("/books/:id", PATHNAME_OPTIONS), "^\\/books(?:\\/([^\\/]+?))$");
    assert.equal(regexp("/books/:id?", PATHNAME_OPTIONS), "^\\/books(?:\\/([^\\/]+?))?$");
    assert.equal(
      regexp("/books/:id+", PATHNAME_OPTIONS),
      "^\\/books(?:\\/((?:[^\\/]+?)(?:\\/(?:[^\\/]+?))*))$",
    );
    assert.equal(
      regexp("/books/:id*", PATHNAME_OPTIONS),
      "^\\/books(?:\\/((?:[^\\/]+?)(?:\\/(?:[^\\/]+?))*))?$",
    );
    assert.equal(regexp("/*", PATHNAME_OPTIONS), "^(?:\\/(.*))$");
    assert.equal(regexp("*.example.com", HOSTNAME_OPTIONS), "^(.*)\\.example\\.com$");
    assert.equal(regexp(":sub.example.com", HOSTNAME_OPTIONS), "^([^\\.]+?)\\.example\\.com$");
    assert.equal(regexp("http{s}?", DEFAULT_OPTIONS), "^http(?:s)?$");
    assert.equal(regexp(":a(\\d+)*", DEFAULT_OPTIONS), "^((?:\\d+)*)$");
    assert.equal(regexp(":a", DEFAULT_OPTIONS), "^([^]+?)$");
    assert.equal(regexp("{a-:x-b}+", DEFAULT_OPTIONS), "^(?:a-((?:[^]+?)(?:-ba-(?:[^]+?))*)-b)$");
    assert.equal(regexp("", DEFAULT_OPTIONS), "^$");
    assert.deepEqual(
      generateRegexpAndNames(parsePatternString("/:a/*/(x)", PATHNAME_OPTIONS), PATHNAME_OPTIONS).names,
      ["a", "0", "1"],
    );
  });

  test("escapes regexp syntax in fixed text", () => {
    assert.equal(regexp("/a.b\\+c$[x]|y^", PATHNAME_OPTIONS), "^\\/a\\.b\\+c\\$\\[x\\]\\|y\\^$");
  });
});
