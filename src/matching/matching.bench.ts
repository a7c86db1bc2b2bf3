/**
 * Micro benchmark: one `matches()` call of each kind of topic matcher, as `compileMatcher` builds
 * them (exact, URL Pattern, legacy topic selector / URI Template), on a matching and a
 * non-matching topic, and the cost of building a matcher. Run with Node 24:
 * `node scripts/node24.js src/matching/matching.bench.ts` (all micro benchmarks:
 * `npm run bench:micro`).
 *
 * "same topic" repeats one topic: the hub tests each published topic against every distinct
 * pattern in a row, and a URL Pattern matcher parses a topic once for all of them (the last
 * topic and a small cache are kept). "fresh topics" cycles through 1024 distinct topics, more than
 * that cache holds, so each call pays the parse: the first pattern of a publish pays this.
 * Topics are flat non-internalized copies, as the form parser hands them over, so that an exact
 * match compares characters rather than pointers.
 *
 * "compile, new pattern" cycles through 4096 distinct patterns (URI Templates are cached, 1024 of
 * them); "compile, same pattern" repeats one. Both include the checks `compileMatcher` does for
 * every type (length, forbidden characters, well-formed UTF-16).
 *
 * Each figure is the median of 7 timed rounds, after calibration and a warm-up round; "±%" is
 * half the spread of the rounds relative to the median (a noise indicator, not an error bar). The
 * "harness floor" row is the same loop around a closure that does nothing: a few ns of every
 * figure are the loop and the call. The checksum printed last only keeps the measured calls from
 * being optimized away.
 */

import { checksum, measure, percent, roundNs } from "../../bench/micro-bench.ts";
import { compileMatcher, DEFAULT_MAX_PATTERN_LENGTH } from "./compile.ts";
import type { MatcherType } from "./matcher.ts";

/** A flat, non-internalized copy, like the strings the form parser hands the hub. */
const flat = (text: string): string => Buffer.from(text).toString();

const BASE_URL = "https://hub.example/.well-known/mercure";
const LIMITS = { maxPatternLength: DEFAULT_MAX_PATTERN_LENGTH };
const FRESH = 1024;
const NEW_PATTERNS = 4096;

interface Case {
  readonly name: string;
  readonly type: MatcherType;
  readonly pattern: string;
  /** The n-th matching topic. */
  readonly hit: (n: number) => string;
  /** The n-th non-matching topic. */
  readonly miss: (n: number) => string;
}

const CASES: readonly Case[] = [
  {
    name: "exact",
    type: "exact",
    pattern: "https://example.com/books/1",
    hit: () => "https://example.com/books/1",
    // Same length, differs in the last character: the longest compare that fails.
    miss: (n) => "https://example.com/books/" + ((n % 9) + 2),
  },
  {
    name: "urlpattern, :id",
    type: "urlpattern",
    pattern: "https://example.com/books/:id",
    hit: (n) => `https://example.com/books/${n}`,
    miss: (n) => `https://example.com/authors/${n}`,
  },
  {
    name: "urlpattern, wildcard",
    type: "urlpattern",
    pattern: "https://example.com/books/*",
    hit: (n) => `https://example.com/books/${n}/reviews`,
    miss: (n) => `https://example.com/authors/${n}`,
  },
  {
    name: "urlpattern, regexp group",
    type: "urlpattern",
    pattern: "https://example.com/books/:id(\\d+)",
    hit: (n) => `https://example.com/books/${n}`,
    miss: (n) => `https://example.com/books/b${n}`,
  },
  {
    name: "legacy, URI Template",
    type: "topic",
    pattern: "https://example.com/books/{id}",
    hit: (n) => `https://example.com/books/${n}`,
    miss: (n) => `https://example.com/authors/${n}`,
  },
  {
    name: "legacy, 3 expressions",
    type: "topic",
    pattern: "https://example.com/{collection}/{id}{?format}",
    hit: (n) => `https://example.com/books/${n}?format=json`,
    miss: (n) => `https://example.com/books/${n}/reviews`,
  },
];

/** The n-th distinct variant of `pattern`, for compiling without cache hits. */
const variant = (pattern: string, n: number): string => pattern.replace("example.com/", `example.com/v${n}/`);

const matchRows: Record<string, string | number>[] = [];
const compileRows: Record<string, string | number>[] = [];
for (const { name, type, pattern, hit, miss } of CASES) {
  const matcher = compileMatcher(type, pattern, BASE_URL, LIMITS);
  const hits = Array.from({ length: FRESH }, (_, n) => flat(hit(n)));
  const misses = Array.from({ length: FRESH }, (_, n) => flat(miss(n)));
  if (!hits.every((topic) => matcher.matches(topic)) || misses.some((topic) => matcher.matches(topic))) {
    throw new Error(`${name}: the topics do not match as intended`);
  }
  const hitTopic = hits[1]!;
  const missTopic = misses[1]!;
  const sameHit = measure(() => (matcher.matches(hitTopic) ? 1 : 0));
  const sameMiss = measure(() => (matcher.matches(missTopic) ? 1 : 0));
  const freshHit = measure((i) => (matcher.matches(hits[i & (FRESH - 1)]!) ? 1 : 0));
  const freshMiss = measure((i) => (matcher.matches(misses[i & (FRESH - 1)]!) ? 1 : 0));
  matchRows.push({
    matcher: name,
    pattern,
    "same topic, hit ns": roundNs(sameHit.ns),
    "same, miss ns": roundNs(sameMiss.ns),
    "fresh topics, hit ns": roundNs(freshHit.ns),
    "fresh, miss ns": roundNs(freshMiss.ns),
    "max ±%": percent(Math.max(sameHit.spread, sameMiss.spread, freshHit.spread, freshMiss.spread)),
  });

  const patterns = Array.from({ length: NEW_PATTERNS }, (_, n) => flat(variant(pattern, n)));
  const compileNew = measure(
    (i) => compileMatcher(type, patterns[i & (NEW_PATTERNS - 1)]!, BASE_URL, LIMITS).pattern.length,
  );
  const compileSame = measure(() => compileMatcher(type, pattern, BASE_URL, LIMITS).pattern.length);
  compileRows.push({
    matcher: name,
    pattern,
    "compile, new pattern ns": roundNs(compileNew.ns),
    "±%": percent(compileNew.spread),
    "compile, same pattern ns": roundNs(compileSame.ns),
    "same ±%": percent(compileSame.spread),
  });
}

// Last, so that the loop has seen as many closures as the figures above.
const floor = measure((i) => i & 1);
matchRows.push({
  matcher: "harness floor",
  pattern: "(empty closure)",
  "same topic, hit ns": roundNs(floor.ns),
  "max ±%": percent(floor.spread),
});

console.log(`Topic matching, one matches() call (Node ${process.version})`);
console.table(matchRows);
console.log("Building a matcher, compileMatcher()");
console.table(compileRows);
console.log(`checksum ${checksum()}`);
