import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidMatcherError } from "../matcher.ts";
import { type CompiledUrlPattern, compileUrlPattern } from "./compile.ts";
import { parseTopic } from "./topic-components.ts";

/**
 * Patterns that make V8's backtracking engine take seconds or worse (exponential or high-degree
 * polynomial in the topic length). Linearity is shown with the engine's step counter, never with a
 * clock: a run takes at most (length + 1) × (4 × size + 1) steps per component.
 */
const BASE_URL = "https://hub.example/.well-known/mercure";
const A4096 = "a".repeat(4096);

function topicLength(topic: string): number {
  const components = parseTopic(topic, BASE_URL);
  assert.ok(components !== undefined, `${topic.slice(0, 40)}… should parse`);
  return components.reduce((total, component) => total + component.length, 0);
}

/** Runs the test and checks the work done against the engine's linear bound. */
function testLinearly(compiled: CompiledUrlPattern, topic: string): boolean {
  const result = compiled.test(topic);
  const bound = (topicLength(topic) + 8) * (4 * compiled.programSize + 1);
  assert.ok(compiled.lastSteps <= bound, `${compiled.lastSteps} steps exceed the bound ${bound}`);
  assert.equal(compiled.budgetExhausted, false);
  return result;
}

/** Steps for a topic twice as long: a linear engine roughly doubles, never squares. */
function assertScalesLinearly(compiled: CompiledUrlPattern, makeTopic: (length: number) => string): void {
  testLinearly(compiled, makeTopic(2048));
  const short = compiled.lastSteps;
  testLinearly(compiled, makeTopic(4096));
  const long = compiled.lastSteps;
  assert.ok(long <= 2.1 * short, `steps went from ${short} to ${long} when the topic doubled`);
}

const options = { timeout: 10_000 };

describe("pathological patterns run in linear time", () => {
  test("/*a*a*a*a*a*a*a*a*b", options, () => {
    const compiled = compileUrlPattern("/*a*a*a*a*a*a*a*a*b", BASE_URL);
    assert.equal(testLinearly(compiled, "https://hub.example/" + A4096), false);
    assert.equal(testLinearly(compiled, "https://hub.example/" + A4096 + "b"), true);
    assert.equal(testLinearly(compiled, "/" + "a".repeat(7) + "b"), false);
    assert.equal(testLinearly(compiled, "/" + "a".repeat(8) + "b"), true);
    assertScalesLinearly(compiled, (length) => "https://hub.example/" + "a".repeat(length));
    // Small enough for the native engine, as a sanity check of the answers.
    const native = new URLPattern("/*a*a*a*a*a*a*a*a*b", BASE_URL);
    for (const topic of ["/aaaaaaab", "/aaaaaaaab", "/xaxaxaxaxaxaxaxab", "/aaaaaaaaa"]) {
      assert.equal(compiled.test(topic), native.test(topic, BASE_URL), topic);
    }
  });

  test("/:a-:b-:c-:d-:e-:f-:g-:h-:i-:j", options, () => {
    const compiled = compileUrlPattern("/:a-:b-:c-:d-:e-:f-:g-:h-:i-:j", BASE_URL);
    assert.equal(testLinearly(compiled, "https://hub.example/" + A4096), false);
    assert.equal(testLinearly(compiled, "https://hub.example/" + "a-".repeat(2048)), true);
    assert.equal(testLinearly(compiled, "https://hub.example/" + "a-".repeat(8) + "a"), false);
    assert.equal(testLinearly(compiled, "https://hub.example/" + "a-".repeat(9) + "a"), true);
    assert.equal(testLinearly(compiled, "https://hub.example/" + "a-".repeat(2047) + "a/"), false);
    assertScalesLinearly(compiled, (length) => "https://hub.example/" + "a".repeat(length));
  });

  test("/(a+)+b: nested repetition", options, () => {
    const compiled = compileUrlPattern("/(a+)+b", BASE_URL);
    assert.equal(testLinearly(compiled, "https://hub.example/" + A4096), false);
    assert.equal(testLinearly(compiled, "https://hub.example/" + A4096 + "b"), true);
    assert.equal(testLinearly(compiled, "https://hub.example/" + "a/".repeat(100) + "ab"), true);
    assertScalesLinearly(compiled, (length) => "https://hub.example/" + "a".repeat(length));
  });

  test("/:x((?:a|a)*)*b and /:x((?:a*)*)b: ambiguous nested repetition", options, () => {
    for (const pattern of ["/:x((?:a|a)*)*b", "/:x((?:a*)*)b", "/:x((?:a?){100}a{100})"]) {
      const compiled = compileUrlPattern(pattern, BASE_URL);
      assert.equal(testLinearly(compiled, "https://hub.example/" + A4096), false, pattern);
      assertScalesLinearly(compiled, (length) => "https://hub.example/" + "a".repeat(length));
    }
    const compiled = compileUrlPattern("/:x((?:a|a)*)*b", BASE_URL);
    assert.equal(testLinearly(compiled, "https://hub.example/" + A4096 + "b"), true);
  });

  test("/((a|a)*)*b is rejected: capturing groups are not allowed inside a regexp group", () => {
    assert.throws(
      () => compileUrlPattern("/((a|a)*)*b", BASE_URL),
      (error) => error instanceof InvalidMatcherError && error.code === "urlpattern_syntax",
    );
  });

  test("wildcards and groups in every component", options, () => {
    const pattern =
      ":p(h.*s)://:u(.*u.*)::w(.*w.*)@*a*a*a*.:tld(.*a*a*a.*)::port(\\d*)/*a*a*a*b?*a*a*a*b#*a*a*a*b";
    const compiled = compileUrlPattern(pattern, BASE_URL);
    const long = (length: number) => {
      const a = "a".repeat(length / 8);
      return `https://${a}u:${a}w@${a}.${a}a:8080/${a}/${a}?${a}#${a}`;
    };
    assert.equal(testLinearly(compiled, long(4096)), false);
    assert.equal(testLinearly(compiled, long(4096) + "b"), false);
    const matching = (length: number) => {
      const a = "a".repeat(length / 8);
      return `https://${a}u:${a}w@${a}.${a}a:8080/${a}b?${a}b#${a}b`;
    };
    assert.equal(testLinearly(compiled, matching(4096)), true);
    assertScalesLinearly(compiled, long);
    // Short enough for the native engine, as a sanity check of the answers.
    const native = new URLPattern(pattern, BASE_URL);
    for (const topic of [long(64), long(64) + "b", matching(64)]) {
      assert.equal(compiled.test(topic), native.test(topic, BASE_URL), topic);
    }
    // "*" everywhere costs nothing, whatever the topic: a lone wildcard is never run. ("\\?" is
    // the search delimiter: "*?" would be an optional wildcard.)
    const everything = compileUrlPattern("*://*:*@*:*/*\\?*#*", BASE_URL);
    assert.equal(
      testLinearly(everything, "https://u:p@example.com:1/" + A4096 + "?" + A4096 + "#" + A4096),
      true,
    );
    assert.equal(everything.lastSteps, 0);
  });

  test("an exhausted step budget means no match", () => {
    const compiled = compileUrlPattern("/:x(a*a*a*a*b?)", BASE_URL);
    const components = parseTopic("https://hub.example/" + A4096, BASE_URL)!;
    assert.equal(compiled.testComponents(components), true);
    assert.equal(compiled.budgetExhausted, false);
    assert.equal(compiled.testComponents(components, 1000), false);
    assert.equal(compiled.budgetExhausted, true);
    assert.ok(compiled.lastSteps < 2000, `${compiled.lastSteps} steps for a budget of 1000`);
  });

  test("oversized programs are refused at compile time", () => {
    for (const pattern of [
      "/:x(a{1000})",
      "/:x((?:(?:a{100}){100}){100})",
      "/:x((?:a{100}){99}(?:b{100}){99})",
    ]) {
      assert.throws(
        () => compileUrlPattern(pattern, BASE_URL),
        (error) => error instanceof InvalidMatcherError,
        pattern,
      );
    }
  });
});
