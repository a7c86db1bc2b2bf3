import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BASE_URL,
  CORPUS_PATTERNS,
  CORPUS_TOPICS,
} from "../../../test/fixtures/urlpattern/differential-corpus.ts";
import { mutate, randomPatternAndTopic, randomTopic } from "../../../test/helpers/random-patterns.ts";
import { Random } from "../../../test/helpers/seeded-random.ts";
import { compileUrlPattern } from "./compile.ts";

/**
 * Our matcher must answer exactly what `new URLPattern(pattern, base).test(topic, base)` answers.
 * Only inputs that are cheap for V8's backtracking engine are used here; pathological ones are
 * covered (without the oracle) by pathological.test.ts.
 */
interface Divergence {
  pattern: string;
  topic: string;
  ours: boolean;
  native: boolean;
}

function compare(pattern: string, topics: readonly string[], divergences: Divergence[]): number {
  const native = new URLPattern(pattern, BASE_URL);
  const ours = compileUrlPattern(pattern, BASE_URL);
  let matches = 0;
  for (const topic of topics) {
    const expected = native.test(topic, BASE_URL);
    const actual = ours.test(topic);
    if (expected) matches++;
    if (actual !== expected) divergences.push({ pattern, topic, ours: actual, native: expected });
  }
  return matches;
}

function isValid(pattern: string): boolean {
  try {
    new URLPattern(pattern, BASE_URL);
    return true;
  } catch {
    return false;
  }
}

describe("differential testing against the native URLPattern", () => {
  test("hand-written corpus: every pattern × every topic", () => {
    const divergences: Divergence[] = [];
    let pairs = 0;
    let matches = 0;
    for (const pattern of CORPUS_PATTERNS) {
      assert.ok(isValid(pattern), `the corpus pattern ${pattern} should be valid`);
      matches += compare(pattern, CORPUS_TOPICS, divergences);
      pairs += CORPUS_TOPICS.length;
    }
    assert.deepEqual(divergences.slice(0, 10), []);
    assert.ok(pairs > 20_000, `${pairs} pairs`);
    // The corpus must exercise both answers.
    assert.ok(matches > 500, `${matches} matching pairs`);
  });

  test("hand-written corpus: each topic against itself as a pattern", () => {
    const divergences: Divergence[] = [];
    for (const topic of CORPUS_TOPICS) {
      if (isValid(topic)) compare(topic, CORPUS_TOPICS, divergences);
    }
    assert.deepEqual(divergences.slice(0, 10), []);
  });

  test("seeded random patterns and topics", () => {
    const random = new Random(0x5eed_2024);
    const divergences: Divergence[] = [];
    let patterns = 0;
    let pairs = 0;
    let matches = 0;
    while (patterns < 1500) {
      const { pattern, sample } = randomPatternAndTopic(random);
      const topics = [
        sample,
        mutate(random, sample),
        mutate(random, sample),
        randomTopic(random),
        randomTopic(random),
      ];
      if (!isValid(pattern)) continue;
      patterns++;
      pairs += topics.length;
      matches += compare(pattern, topics, divergences);
    }
    assert.deepEqual(divergences.slice(0, 10), []);
    assert.ok(matches > pairs / 10, `${matches} of ${pairs} pairs match`);
  });
});
