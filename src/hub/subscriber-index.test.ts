import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Random } from "../../test/helpers/seeded-random.ts";
import { compileMatcher } from "../matching/compile.ts";
import type { MatcherType } from "../matching/matcher.ts";
import type { Connection } from "./connection.ts";
import { MAX_CACHED_TOPIC_ROUTES, SubscriberIndex } from "./subscriber-index.ts";

const BASE = "https://hub.example/.well-known/mercure";
const LIMITS = { maxPatternLength: 1000 };

/** The index only reads a connection's matchers (and its identity). */
function connection(...selectors: [MatcherType, string][]): Connection {
  const matchers = selectors.map(([type, pattern]) => compileMatcher(type, pattern, BASE, LIMITS));
  return {
    matchers,
    matchesAny: (topics: readonly string[]) => matchers.some((m) => topics.some(m.matches)),
  } as unknown as Connection;
}

function visited(index: SubscriberIndex, topics: string[]): Set<Connection> {
  const seen = new Set<Connection>();
  index.forEachMatch(topics, (c) => seen.add(c));
  return seen;
}

const TOPICS = Array.from({ length: 12 }, (_, i) => `https://example.com/books/${i % 4}/chapters/${i}`);
const SELECTORS: [MatcherType, string][] = [
  ["exact", TOPICS[0]!],
  ["exact", TOPICS[5]!],
  ["urlpattern", "https://example.com/books/:book/chapters/:chapter"],
  ["urlpattern", "https://example.com/books/1/*"],
  ["urlpattern", "https://example.com/books/(2|3)/chapters/:c"],
  ["urlpattern", "/nothing/:here"],
  ["topic", "https://example.com/books/{book}/chapters/3"],
  ["topic", TOPICS[7]!],
  ["exact", "*"],
];

// Topics and URL Patterns built from the same few pieces, so that hosts, path beginnings, case,
// escapes, relative forms and non-URL topics collide in every way the route index must get right.
const HOSTS = ["example.com", "EXAMPLE.com", "other.example", "hub.example"];
const SEGMENTS = ["books", "Books", "b%C3%A9", "bé", "books1", "1", "2", ""];
const PATTERN_ENDS = [":id", "*", ":id(\\d+)", "{:id}?", "", "x*", ":a/:b", "1"];

function randomTopic(random: Random): string {
  const roll = random.next();
  if (roll < 0.1)
    return random.pick(["urn:uuid:1", "books/1", "/books/1", "mailto:x@example.com", "not a url"]);
  const path = Array.from({ length: 1 + random.int(3) }, () => random.pick(SEGMENTS)).join("/");
  return `${random.pick(["https", "http", "HTTPS"])}://${random.pick(HOSTS)}/${path}`;
}

function randomPattern(random: Random): string {
  const path = [
    ...Array.from({ length: random.int(3) }, () => random.pick(SEGMENTS)),
    random.pick(PATTERN_ENDS),
  ].join("/");
  const roll = random.next();
  if (roll < 0.15) return `/${path}`; // relative: the hub's host
  if (roll < 0.25) return `https://*.example/${path}`;
  return `${random.pick(["https", "http"])}://${random.pick(HOSTS)}/${path}`;
}

/**
 * Adds connections (from `newConnection`, which may refuse by returning undefined) and removes
 * them at random, and checks after every other step that the index visits, for topics from
 * `newTopics`, exactly the live connections that match: brute force is the reference.
 */
function explore(
  seed: number,
  steps: number,
  addShare: number,
  newConnection: (random: Random) => Connection | undefined,
  newTopics: (random: Random) => string[],
): void {
  const random = new Random(seed);
  const index = new SubscriberIndex();
  const live: Connection[] = [];
  for (let step = 0; step < steps; step++) {
    const roll = random.next();
    if (roll < addShare || live.length === 0) {
      const added = newConnection(random);
      if (added === undefined) continue;
      index.add(added);
      live.push(added);
    } else if (roll < 0.5) {
      const [removed] = live.splice(random.int(live.length), 1);
      index.delete(removed!);
    } else {
      const topics = newTopics(random);
      const expected = new Set(live.filter((c) => c.matchesAny(topics)));
      assert.deepEqual(visited(index, topics), expected, `seed ${seed}, step ${step}, topics ${topics}`);
    }
  }
}

describe("SubscriberIndex", () => {
  it("finds exactly the URL Patterns a topic matches, filed by host and path beginning", () => {
    explore(
      Number(process.env.INDEX_SEED ?? 20261124),
      4000,
      0.35,
      (random) => {
        try {
          return connection(["urlpattern", randomPattern(random)]);
        } catch {
          return undefined; // a pattern the standard refuses
        }
      },
      (random) => [randomTopic(random)],
    );
  });

  it("visits exactly the connections whose matchers select a topic, as connections come and go", () => {
    explore(
      Number(process.env.INDEX_SEED ?? 20261123),
      3000,
      0.3,
      (random) => connection(...Array.from({ length: 1 + random.int(2) }, () => random.pick(SELECTORS))),
      (random) => Array.from({ length: 1 + random.int(2) }, () => random.pick(TOPICS)),
    );
  });

  it("finds a pattern that arrived after the topic's route was remembered, and forgets one that left", () => {
    const index = new SubscriberIndex();
    const topic = "https://example.com/books/1/chapters/2";
    const early = connection(["urlpattern", "https://example.com/books/:id/*"]);
    index.add(early);
    assert.deepEqual(visited(index, [topic]), new Set([early]));
    const late = connection(["urlpattern", "https://example.com/books/1/chapters/:n"]);
    index.add(late);
    assert.deepEqual(visited(index, [topic]), new Set([early, late]));
    index.delete(early);
    assert.deepEqual(visited(index, [topic]), new Set([late]));
    // A second connection on a pattern already known joins its entry (no new route needed).
    const twin = connection(["urlpattern", "https://example.com/books/1/chapters/:n"]);
    index.add(twin);
    assert.deepEqual(visited(index, [topic]), new Set([late, twin]));
  });

  it("for an update some may not receive, tests only their patterns, and remembers only whole answers", () => {
    const index = new SubscriberIndex();
    const topic = "https://example.com/books/1/chapters/2";
    const reader = connection(["urlpattern", "https://example.com/books/:id/*"]);
    const other = connection(["urlpattern", "https://example.com/books/1/chapters/:n"]);
    index.add(reader);
    index.add(other);
    const visitedIf = (mayReceive: (c: Connection) => boolean) => {
      const seen = new Set<Connection>();
      index.forEachMatch([topic], (c) => seen.add(c), mayReceive);
      return seen;
    };
    // Only the reader's pattern is tested: the other is never visited, and nothing is remembered.
    assert.deepEqual(
      visitedIf((c) => c === reader),
      new Set([reader]),
    );
    // A public update then tests every pattern, rather than reusing that partial answer.
    assert.deepEqual(visited(index, [topic]), new Set([reader, other]));
    // A whole answer is remembered, and used for an update only the reader may receive: the hub
    // checks each connection it visits.
    assert.deepEqual(
      visitedIf((c) => c === reader),
      new Set([reader, other]),
    );
    // With both readable, nothing is skipped: the answer is whole.
    const fresh = "https://example.com/books/1/chapters/3";
    const seen = new Set<Connection>();
    index.forEachMatch(
      [fresh],
      (c) => seen.add(c),
      () => true,
    );
    assert.deepEqual(seen, new Set([reader, other]));
  });

  it("stays right when more topics are published than it remembers routes for", () => {
    const index = new SubscriberIndex();
    const even = connection(["urlpattern", "https://example.com/n/:n(\\d*[02468])"]);
    index.add(even);
    for (let round = 0; round < 2; round++) {
      for (let n = 0; n < MAX_CACHED_TOPIC_ROUTES + 10; n += 997) {
        const expected = n % 2 === 0 ? new Set([even]) : new Set();
        assert.deepEqual(visited(index, [`https://example.com/n/${n}`]), expected, `n ${n}`);
      }
    }
  });
});
