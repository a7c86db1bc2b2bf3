import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { randomRegexp, randomSubject } from "../../../test/helpers/random-patterns.ts";
import { Random } from "../../../test/helpers/seeded-random.ts";
import { InvalidMatcherError } from "../matcher.ts";
import { BUDGET_EXHAUSTED, compileRegexp, MAX_PROGRAM_SIZE } from "./regexp-engine.ts";

/** Our engine must agree with V8 (`v` flag) on `test` for everything it accepts. */
function assertSameAsNative(source: string, inputs: readonly string[]): void {
  const ours = compileRegexp(source);
  const native = new RegExp(source, "v");
  for (const input of inputs) {
    assert.equal(ours.test(input), native.test(input), `/${source}/v on ${JSON.stringify(input)}`);
    // The linear bound of a run, whatever the expression.
    assert.ok(ours.steps <= (input.length + 1) * (4 * ours.size + 1), `${ours.steps} steps for /${source}/`);
  }
}

const SUBJECTS = [
  "",
  "a",
  "b",
  "ab",
  "aab",
  "abab",
  "1",
  "12",
  "123",
  "a1",
  "-",
  "/",
  "a/b",
  "é",
  "😀",
  "a\nb",
  "_",
];

describe("regular expression engine", () => {
  test("what URL patterns generate", () => {
    for (const source of [
      "^\\/books(?:\\/([^\\/]+?))$",
      "^(?:\\/([^\\/]+?))?$",
      "^(?:\\/((?:[^\\/]+?)(?:\\/(?:[^\\/]+?))*))?$",
      "^(?:\\/((?:\\d+)(?:\\/(?:\\d+))*))$",
      "^([^\\.]+?)\\.example\\.com$",
      "^(.*)\\.example\\.com$",
      "^(?:\\/(.*))$",
      "^http(?:s)?$",
      "^([^]+?)$",
      "^(?:a-((?:[^]+?)(?:-a-(?:[^]+?))*)-)?$",
      "^$",
    ]) {
      assertSameAsNative(source, [
        ...SUBJECTS,
        "/books/1",
        "/books/",
        "/1/2/3",
        "a.example.com",
        "http",
        "https",
        "a-1-",
      ]);
    }
  });

  test("literals, escapes and classes", () => {
    for (const source of [
      "^\\d+$",
      "^\\D\\w\\W\\s\\S$",
      "^[a-c]+$",
      "^[^a-c]+$",
      "^[\\d\\-]+$",
      "^[\\w--\\d]+$",
      "^[\\w&&[^_a]]+$",
      "^[[a-c][0-9]]+$",
      "^\\u0061\\x62$",
      "^\\u{1F600}$",
      "^\\uD83D\\uDE00$",
      "^[\\uD83D\\uDE00]$",
      "^\\p{Lu}\\p{Ll}*$",
      "^\\P{L}+$",
      "^[\\p{L}--[a-c]]+$",
      "^\\n$",
      "^\\cJ$",
      "^\\0$",
      "^[\\b]$",
      "^\\.\\/\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\$",
      "^.$",
      "^[^]$",
      "^[]$",
    ]) {
      assertSameAsNative(source, [
        ...SUBJECTS,
        "A",
        "Ab",
        "AB",
        "\b",
        "\0",
        "./*+?()[]{}|^$\\",
        "\n",
        "\u2028",
      ]);
    }
  });

  test("groups, alternation, quantifiers and assertions", () => {
    for (const source of [
      "^(?:ab|a)(?:b|)$",
      "a|b",
      "^a|b$",
      "^(?:a|b)*c?$",
      "^a{2}$",
      "^a{2,}$",
      "^a{1,3}$",
      "^a{0,3}?$",
      "^(?:a*)*$",
      "^(?:a?){3}a{3}$",
      "^(?<name>a)b$",
      "\\bab\\b",
      "^a\\Bb",
      "^(?:^a|b$)+$",
      "a$",
      "^$|^a",
      "(?:)",
      "^(?:(?:a|b)+)+$",
    ]) {
      assertSameAsNative(source, [...SUBJECTS, "aa", "aaa", "aaaa", "ab ab", "xaby", "c", "abc", "aaab"]);
    }
  });

  test("seeded random expressions", () => {
    const random = new Random(42);
    for (let i = 0; i < 2000; i++) {
      const regexp = randomRegexp(random);
      const source = random.pick(["^(?:" + regexp.pattern + ")$", regexp.pattern, "^" + regexp.pattern]);
      assertSameAsNative(source, [
        regexp.sample,
        randomSubject(random),
        randomSubject(random),
        "x" + regexp.sample,
      ]);
    }
  });

  test("iterates by code points", () => {
    const program = compileRegexp("^.$");
    assert.equal(program.test("😀"), true);
    assert.equal(program.test("\ud83d"), true);
    assert.equal(program.test("\ude00\ud83d"), false);
  });

  test("constructs a linear engine cannot run are refused", () => {
    for (const [source, construct] of [
      ["^(a)\\1$", /backreference/],
      ["^(?<n>a)\\k<n>$", /named backreference/],
      ["^(?=a)a$", /lookahead/],
      ["^(?!a)b$", /negative lookahead/],
      ["^(?<=a)b$", /lookbehind/],
      ["^(?<!a)b$", /negative lookbehind/],
      ["^(?i:a)$", /modifier/],
      ["^[\\q{abc}]$", /string disjunction/],
      ["^\\p{RGI_Emoji}$", /property of strings/],
      ["^a{101}$", /repetition count/],
      ["^a{1,1000}$", /repetition count/],
    ] as const) {
      assert.doesNotThrow(() => new RegExp(source, "v"), source);
      assert.throws(
        () => compileRegexp(source),
        (error) =>
          error instanceof InvalidMatcherError &&
          error.code === "urlpattern_unsupported" &&
          construct.test(error.message),
        source,
      );
    }
  });

  test("programs are bounded in size", () => {
    assert.throws(
      () => compileRegexp("^(?:(?:a{100}){100})$"),
      (error) =>
        error instanceof InvalidMatcherError &&
        error.code === "urlpattern_unsupported" &&
        error.message.includes(String(MAX_PROGRAM_SIZE)),
    );
    assert.ok(compileRegexp("^(?:a{100}){90}$").size <= MAX_PROGRAM_SIZE);
    // Empty groups compile to no instruction; the work is bounded all the same.
    const empty = "^" + "(?:".repeat(8) + ")" + "{100})".repeat(7) + "{100}$";
    assert.doesNotThrow(() => new RegExp(empty, "v"));
    assert.throws(
      () => compileRegexp(empty),
      (error) => error instanceof InvalidMatcherError && error.code === "urlpattern_unsupported",
    );
  });

  test("runs within a step budget", () => {
    const program = compileRegexp("^(?:a|a)*b$");
    const input = "a".repeat(1000);
    assert.equal(program.run(input, Number.POSITIVE_INFINITY), 0);
    const steps = program.steps;
    assert.ok(steps <= (input.length + 1) * (4 * program.size + 1));
    assert.equal(program.run(input, steps / 2), BUDGET_EXHAUSTED);
    assert.equal(program.run(input + "b", Number.POSITIVE_INFINITY), 1);
  });
});
