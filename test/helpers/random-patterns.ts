/**
 * Deterministic pseudo-random URL patterns, topics and regular expressions for the differential
 * tests. Pieces come from small vocabularies shared by patterns and topics, so that a fair share of
 * the pairs match. Everything stays harmless for V8's backtracking engine (the oracle): short
 * topics, few unbounded repetitions, and no repetition of a group that itself repeats.
 */

import type { Random } from "./seeded-random.ts";

const WORDS = ["books", "a", "b", "ab", "1", "42", "x-y", "a.b", "é", "%C3%A9", "x y", "_", "~u"];

/** A piece of pattern with a string it should match (before the URL parser canonicalizes it). */
interface Piece {
  readonly pattern: string;
  readonly sample: string;
}

function join(pieces: readonly Piece[], separator = ""): Piece {
  return {
    pattern: pieces.map((piece) => piece.pattern).join(separator),
    sample: pieces.map((piece) => piece.sample).join(separator),
  };
}

function pieces(random: Random, min: number, max: number, make: () => Piece): Piece[] {
  return Array.from({ length: min + random.int(max - min + 1) }, make);
}

/** `count` copies of `make()`'s sample, for a repeated piece. */
function repeatSample(random: Random, min: number, max: number, make: () => string): string {
  return Array.from({ length: min + random.int(max - min + 1) }, make).join("");
}

const ATOMS: readonly (readonly [string, readonly string[]])[] = [
  ["a", ["a"]],
  ["b", ["b"]],
  ["1", ["1"]],
  ["\\d", ["0", "7"]],
  ["\\w", ["a", "1", "_"]],
  [".", ["a", "-", "é"]],
  ["[ab]", ["a", "b"]],
  ["[^b]", ["a", "1"]],
  ["[a-z]", ["c", "z"]],
  ["[0-9]", ["5"]],
  ["\\.", ["."]],
  ["-", ["-"]],
  ["\\/", ["/"]],
  ["[\\w--b]", ["a", "2"]],
];

const QUANTIFIERS: readonly (readonly [string, number, number])[] = [
  ["", 1, 1],
  ["", 1, 1],
  ["", 1, 1],
  ["?", 0, 1],
  ["*", 0, 2],
  ["+", 1, 2],
  ["{1,2}", 1, 2],
  ["{2}", 2, 2],
  ["+?", 1, 2],
  ["*?", 0, 2],
];

/** A small regular expression over the topic alphabet, for `:name(…)` groups, with a match. */
export function randomRegexp(random: Random, depth = 0): Piece {
  let unbounded = 0;
  return join(
    pieces(random, 1, 3, () => {
      if (depth < 1 && random.chance(0.2)) {
        const alternatives = pieces(random, 2, 3, () => randomRegexp(random, depth + 1));
        // A group may only repeat a bounded number of times: (?:a+)+ would be exponential for V8.
        const [quantifier, min, max] = random.pick([
          ["", 1, 1],
          ["?", 0, 1],
          ["{0,2}", 0, 2],
        ] as const);
        return {
          pattern: "(?:" + alternatives.map((piece) => piece.pattern).join("|") + ")" + quantifier,
          sample: repeatSample(random, min, max, () => random.pick(alternatives).sample),
        };
      }
      const [atom, samples] = random.pick(ATOMS);
      let [quantifier, min, max] = random.pick(QUANTIFIERS);
      if (/[*+]/.test(quantifier) && unbounded++ >= 1) [quantifier, min, max] = ["?", 0, 1];
      return {
        pattern: atom + quantifier,
        sample: repeatSample(random, min, max, () => random.pick(samples)),
      };
    }),
  );
}

function randomGroup(random: Random, prefix: string): Piece {
  const name = ":" + random.pick(["id", "x", "slug", "n"]) + random.int(100);
  const word = () => random.pick(WORDS);
  const regexp = randomRegexp(random);
  const body = random.pick<Piece>([
    { pattern: name, sample: word() },
    { pattern: name, sample: word() },
    { pattern: "*", sample: random.pick([word(), word() + "/" + word(), ""]) },
    { pattern: name + "(" + regexp.pattern + ")", sample: regexp.sample },
    { pattern: "(" + regexp.pattern + ")", sample: regexp.sample },
  ]);
  const suffix = random.pick(["", "", "-"]);
  const modifier = random.pick(["", "", "?", "*", "+"]);
  const once = prefix + body.sample + suffix;
  const sample =
    modifier === ""
      ? once
      : modifier === "?"
        ? random.pick([once, ""])
        : repeatSample(random, modifier === "+" ? 1 : 0, 2, () => once);
  // A repeated group needs a prefix or suffix to stay cheap for V8: ((?:a+)+) backtracks.
  if (modifier === "*" || modifier === "+" || suffix !== "" || random.chance(0.3)) {
    return { pattern: "{" + prefix + body.pattern + suffix + "}" + modifier, sample };
  }
  return { pattern: prefix + body.pattern + modifier, sample };
}

function randomPathname(random: Random): Piece {
  return join(
    pieces(random, 1, 3, () => {
      const roll = random.next();
      if (roll < 0.4) {
        const word = random.pick(WORDS);
        return { pattern: "/" + word, sample: "/" + word };
      }
      if (roll < 0.8) return randomGroup(random, random.pick(["/", "/", "/a/", "/b-"]));
      const word = random.pick(WORDS);
      const group = randomGroup(random, random.pick(["", ".", "-"]));
      return { pattern: "/" + word + group.pattern, sample: "/" + word + group.sample };
    }),
  );
}

function randomHostname(random: Random): Piece {
  const label = () =>
    random.pick<Piece>([
      { pattern: "example", sample: "example" },
      { pattern: "a", sample: "a" },
      { pattern: "*", sample: random.pick(["a", "b.c", "www"]) },
      { pattern: ":sub", sample: random.pick(["a", "www"]) },
      { pattern: "{www.}?", sample: random.pick(["www.", ""]) },
      { pattern: "(\\w+)", sample: "w1" },
      { pattern: "xn--bcher-kva", sample: random.pick(["xn--bcher-kva", "bücher"]) },
      { pattern: "EXAMPLE", sample: "example" },
      { pattern: "bücher", sample: random.pick(["xn--bcher-kva", "bücher"]) },
    ]);
  const tld = random.pick([".com", ".org", "", ".com"]);
  const host = join(pieces(random, 1, 2, label), ".");
  return { pattern: host.pattern + tld, sample: host.sample + tld };
}

const SEARCHES: readonly Piece[] = [
  { pattern: "*", sample: "q=1" },
  { pattern: "q=:q", sample: "q=a" },
  { pattern: "{q=:q}?", sample: "" },
  { pattern: "q=1", sample: "q=1" },
  { pattern: "q=:q&*", sample: "q=1&x=2" },
  { pattern: ":x(\\d+)", sample: "12" },
];

const HASHES: readonly Piece[] = [
  { pattern: "*", sample: "x" },
  { pattern: "top", sample: "top" },
  { pattern: ":h", sample: "h1" },
  { pattern: "{t:h}?", sample: "tx" },
];

/**
 * A URL pattern (absolute, relative to the hub, with or without search and hash) and a topic
 * written to match it, which the URL parser may still canonicalize into a non-match.
 */
export function randomPatternAndTopic(random: Random): Piece {
  const pathname = randomPathname(random);
  const search = random.chance(0.25) ? random.pick(SEARCHES) : undefined;
  const hash = random.chance(0.15) ? random.pick(HASHES) : undefined;
  const tail: Piece = {
    pattern: pathname.pattern + (search ? "?" + search.pattern : "") + (hash ? "#" + hash.pattern : ""),
    sample: pathname.sample + (search ? "?" + search.sample : "") + (hash ? "#" + hash.sample : ""),
  };
  if (random.chance(0.25)) return tail;
  const protocol = random.pick<Piece>([
    { pattern: "https", sample: "https" },
    { pattern: "http", sample: "http" },
    { pattern: "http{s}?", sample: random.pick(["http", "https"]) },
    { pattern: "*", sample: random.pick(["https", "foo", "ws"]) },
    { pattern: "ws{s}?", sample: "wss" },
    { pattern: "foo", sample: "foo" },
    { pattern: "(https?)", sample: "https" },
  ]);
  const port = random.pick<Piece>([
    { pattern: "", sample: "" },
    { pattern: "", sample: "" },
    { pattern: ":8080", sample: ":8080" },
    { pattern: ":*", sample: ":81" },
    { pattern: ":(\\d+)", sample: ":8443" },
    { pattern: ":443", sample: ":443" },
  ]);
  const host = randomHostname(random);
  return {
    pattern: protocol.pattern + "://" + host.pattern + port.pattern + tail.pattern,
    sample: protocol.sample + "://" + host.sample + port.sample + tail.sample,
  };
}

/** A topic unrelated to any pattern, from the same vocabulary, absolute or relative. */
export function randomTopic(random: Random): string {
  const segment = () => random.pick([...WORDS, "aab", "1.json", "b-1", "a1", "a-b-", "books.json", "a/b"]);
  const pathname = Array.from({ length: random.int(4) }, () => "/" + segment()).join("");
  const search = random.chance(0.3) ? "?" + random.pick(["q=1", "q=a", "", "x=1&q=2", "12"]) : "";
  const hash = random.chance(0.15) ? "#" + random.pick(["top", "", "t1", "x"]) : "";
  if (random.chance(0.2)) return (pathname || "/") + search + hash;
  const protocol = random.pick(["https", "https", "http", "ws", "foo", "wss"]);
  const host = random.pick([
    "example.com",
    "a.example.com",
    "www.example.com",
    "b.example.org",
    "EXAMPLE.com",
    "bücher.com",
  ]);
  const port = random.pick(["", "", ":8080", ":443", ":80"]);
  return protocol + "://" + host + port + pathname + search + hash;
}

/** A small edit of a topic (a character dropped, doubled or replaced), often turning a match into a miss. */
export function mutate(random: Random, topic: string): string {
  if (topic === "") return "/";
  const at = random.int(topic.length);
  const char = random.pick(["a", "/", "1", ".", "-", "?", "#", ""]);
  switch (random.int(3)) {
    case 0:
      return topic.slice(0, at) + topic.slice(at + 1);
    case 1:
      return topic.slice(0, at) + topic[at] + topic.slice(at);
    default:
      return topic.slice(0, at) + char + topic.slice(at + 1);
  }
}

/** An input for `randomRegexp` expressions: short strings over their alphabet. */
export function randomSubject(random: Random): string {
  return Array.from({ length: random.int(9) }, () =>
    random.pick(["a", "b", "1", "-", ".", "/", "z", "_", "é", "😀", "c", "5"]),
  ).join("");
}
