import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Random } from "../../test/helpers/seeded-random.ts";
import { FormError, type FormErrorCode, type FormLimits, FormParser } from "./form-parser.ts";

const encoder = new TextEncoder();
const NO_LIMITS: FormLimits = { maxFieldBytes: Number.MAX_SAFE_INTEGER, maxFields: Number.MAX_SAFE_INTEGER };

type Pairs = Array<[string, string]>;

/** What a parse gave: the pairs, or the error and where it was thrown. */
type Outcome =
  | { pairs: Pairs }
  | {
      error: { code: FormErrorCode; field: string | undefined };
      /** "end", or the byte range [start, end) of the body that the throwing push carried. */
      thrownBy: "end" | [number, number];
    };

function run(chunks: readonly Uint8Array[], limits: FormLimits): Outcome {
  const parser = new FormParser(limits);
  let offset = 0;
  for (const chunk of chunks) {
    try {
      parser.push(chunk);
    } catch (error) {
      return failure(error, [offset, offset + chunk.length]);
    }
    offset += chunk.length;
  }
  try {
    return { pairs: parser.end() };
  } catch (error) {
    return failure(error, "end");
  }
}

function failure(error: unknown, thrownBy: "end" | [number, number]): Outcome {
  assert.ok(error instanceof FormError, `a FormError, not ${String(error)}`);
  return { error: { code: error.code, field: error.field }, thrownBy };
}

/**
 * Every way the tests cut a body: whole, in two at every position (including empty chunks at
 * either end), one byte at a time, and in three at every pair of positions for short bodies.
 */
function* chunkings(input: Uint8Array): Generator<Uint8Array[]> {
  const n = input.length;
  yield [input];
  for (let k = 0; k <= n; k++) yield [input.slice(0, k), input.slice(k)];
  yield Array.from({ length: n }, (_, k) => input.slice(k, k + 1));
  if (n <= 24) {
    for (let a = 1; a < n; a++) {
      for (let b = a + 1; b < n; b++) yield [input.slice(0, a), input.slice(a, b), input.slice(b)];
    }
  }
}

const bytesOf = (body: string | Uint8Array | readonly number[]): Uint8Array =>
  typeof body === "string" ? encoder.encode(body) : Uint8Array.from(body);

/**
 * Parses the body cut every way and asserts that all give the same pairs or the same error as
 * the whole body. For an error, `crossing` (the index of the byte that crosses a limit) asserts
 * that it is thrown by the push carrying that byte; otherwise it may come from a later push or
 * from end. Returns the outcome of the whole body.
 */
function parse(
  body: string | Uint8Array | readonly number[],
  limits = NO_LIMITS,
  crossing?: number,
): Outcome {
  const bytes = bytesOf(body);
  const expected = run([bytes], limits);
  for (const chunks of chunkings(bytes)) {
    const outcome = run(chunks, limits);
    const cut = JSON.stringify(chunks.map((chunk) => chunk.length));
    if ("pairs" in expected) {
      assert.deepEqual(outcome, expected, `cut as ${cut}`);
      continue;
    }
    assert.ok("error" in outcome, `cut as ${cut}: expected an error, got ${JSON.stringify(outcome)}`);
    assert.deepEqual(outcome.error, expected.error, `cut as ${cut}`);
    if (crossing !== undefined) {
      assert.ok(Array.isArray(outcome.thrownBy), `cut as ${cut}: thrown by end, not by push`);
      const [start, end] = outcome.thrownBy;
      assert.ok(
        start <= crossing && crossing < end,
        `cut as ${cut}: thrown by the push of [${start}, ${end})`,
      );
    }
  }
  return expected;
}

function pairsOf(outcome: Outcome): Pairs {
  assert.ok("pairs" in outcome, `expected pairs, got ${JSON.stringify(outcome)}`);
  return outcome.pairs;
}

function errorOf(outcome: Outcome): { code: FormErrorCode; field: string | undefined } {
  assert.ok("error" in outcome, `expected an error, got ${JSON.stringify(outcome)}`);
  return outcome.error;
}

/**
 * What URLSearchParams gives, with raw non-ASCII characters percent-encoded first. That does not
 * change the standard's result (their bytes are the same after decoding, and an escape starts
 * with `%`, which is not a hex digit, so it cannot complete a `%` before it), but it works around
 * Node's URLSearchParams (seen in 24.21), which corrupts raw non-ASCII characters in a body that
 * holds both a valid and an invalid `%` sequence: `%G1%20€` gives `%G1 \uFFFD`. The constructor
 * drops one leading `?` (the parser does not), hence the `?` put in front.
 */
const reference = (body: string): Pairs => [
  ...new URLSearchParams(`?${body.replace(/[^\x00-\x7F]/gu, (c) => encodeURIComponent(c))}`),
];
const hasReplacement = (pairs: Pairs) => pairs.some(([name, value]) => `${name}${value}`.includes("\uFFFD"));

/** Asserts that the parser agrees with URLSearchParams, or refuses when it would produce U+FFFD. */
function assertLikeUrlSearchParams(body: string): "equal" | "invalid" {
  assert.ok(!body.includes("\uFFFD") && !/%ef%bf%bd/i.test(body), "the oracle needs bodies without U+FFFD");
  const expected = reference(body);
  const outcome = parse(body);
  if (hasReplacement(expected)) {
    assert.equal(errorOf(outcome).code, "form_invalid_utf8", JSON.stringify(body));
    return "invalid";
  }
  assert.deepEqual(pairsOf(outcome), expected, JSON.stringify(body));
  return "equal";
}

const PIECES = [
  ..."abcXYZ019-_.~*! /?:@",
  "&",
  "&",
  "=",
  "=",
  "+",
  "%",
  "%2",
  "%G1",
  "%4g",
  "%%",
  "%41",
  "%2B",
  "%2b",
  "%26",
  "%3D",
  "%25",
  "%20",
  "%00",
  "%7F",
  "%C3%A9",
  "%c3%a9",
  "%E2%82%AC",
  "%F0%9F%98%80",
  "%EF%BB%BF",
  "%C3",
  "%A9",
  "%E2%82",
  "%FF",
  "%C0%80",
  "%ED%A0%80",
  "é",
  "€",
  "😀",
  "\uFEFF",
  "\t",
];

function randomBody(next: () => number): string {
  const count = Math.floor(next() * 14);
  let body = "";
  for (let i = 0; i < count; i++) body += PIECES[Math.floor(next() * PIECES.length)];
  return body;
}

describe("FormParser: like URLSearchParams", () => {
  test("a corpus", () => {
    const corpus = [
      "",
      "a",
      "a=",
      "=",
      "==",
      "=b",
      "a=b",
      "a=b&c=d",
      "&",
      "&&",
      "a&&b",
      "&a=1&",
      "a=b=c",
      "a==",
      "a=1&a=2&a=3",
      "+",
      "a+b=c+d",
      "%",
      "%2",
      "%zz",
      "%%41",
      "%4",
      "%g1",
      "%+1",
      "a=%",
      "a=%2",
      "%41%42=%43",
      "%2B=%2b",
      "%3D=%26",
      "%25=%2541",
      "%c3%a9=%C3%A9",
      "%E2%82%AC=€",
      "é=ü&😀=%F0%9F%98%80",
      "%EF%BB%BFa=1",
      "\uFEFFa=\uFEFF",
      "a=%00&b=%7F",
      "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=%7B%22a%22%3A1%7D&private=on",
      "a b=c d",
      "?a=1",
      "??",
    ];
    for (const body of corpus) assert.equal(assertLikeUrlSearchParams(body), "equal", JSON.stringify(body));
  });

  test("pseudo-random bodies", () => {
    const random = new Random(0x5eed);
    const next = () => random.next();
    const counts = { equal: 0, invalid: 0 };
    for (let i = 0; i < 1500; i++) counts[assertLikeUrlSearchParams(randomBody(next))]++;
    // The generator must exercise both sides.
    assert.ok(counts.equal > 500, JSON.stringify(counts));
    assert.ok(counts.invalid > 100, JSON.stringify(counts));
  });

  test("a large field across many chunks, with and without escapes", () => {
    // No piece starts with a hexadecimal digit, so no escape is formed across pieces: all valid.
    const pieces = ["x", "y", "=", " ", "-", "+", "%", "%G1", "%20", "%2B", "%25", "%C3%A9", "€", "😀"];
    const random = new Random(42);
    const next = () => random.next();
    let data = "";
    for (let i = 0; i < 20_000; i++) data += pieces[Math.floor(next() * pieces.length)];
    const bodies = [
      `topic=t&data=${data}&id=1`,
      `data=${"x".repeat(100_000)}&y=1`,
      `d=${"%41+".repeat(30_000)}`,
    ];
    for (const body of bodies) {
      const bytes = encoder.encode(body);
      for (const size of [1000, 4093, bytes.length]) {
        const parser = new FormParser(NO_LIMITS);
        for (let k = 0; k < bytes.length; k += size) parser.push(bytes.subarray(k, k + size));
        assert.deepEqual(parser.end(), reference(body));
      }
    }
  });

  test("raw non-ASCII characters next to valid and invalid escapes", () => {
    assert.deepEqual(pairsOf(parse("%G1%20€=%41é%&é%=%%41😀")), [
      ["%G1 €", "Aé%"],
      ["é%", "%A😀"],
    ]);
  });

  test("the chunks given are not modified", () => {
    const bytes = encoder.encode("a%41=%2B+b&c=d");
    const copy = bytes.slice();
    const parser = new FormParser(NO_LIMITS);
    parser.push(bytes);
    assert.deepEqual(parser.end(), [
      ["aA", "+ b"],
      ["c", "d"],
    ]);
    assert.deepEqual(bytes, copy);
  });
});

describe("FormParser: invalid UTF-8", () => {
  const cases: Array<[string, string | number[], string | undefined]> = [
    ["a lone continuation byte in a value", "a=%A9", "a"],
    ["a truncated sequence at the end", "a=%C3", "a"],
    ["a truncated sequence before the next pair", "a=%E2%82&b=1", "a"],
    ["an invalid byte in a name", "%FF=1", undefined],
    ["an invalid name without a value", "ok=1&%FF", undefined],
    ["an overlong encoding", "a=%C0%80", "a"],
    ["an encoded surrogate", "a=%ED%A0%80", "a"],
    ["a raw invalid byte", [0x61, 0x3d, 0x62, 0xff], "a"],
    ["a raw truncated sequence", [0x61, 0x3d, 0xe2, 0x82, 0x26, 0x62], "a"],
    ["a raw and an escaped byte that do not fit", [0x61, 0x3d, 0xc3, 0x25, 0x32, 0x38], "a"],
    ["an escaped lead byte and a raw ASCII byte", "k=%E2(", "k"],
  ];
  for (const [name, body, field] of cases) {
    test(name, () => {
      assert.deepEqual(errorOf(parse(body)), { code: "form_invalid_utf8", field });
    });
  }

  test("the same bytes are valid when they form a sequence, even split across chunks", () => {
    assert.deepEqual(pairsOf(parse([0x61, 0x3d, 0xe2, 0x82, 0xac])), [["a", "€"]]);
    assert.deepEqual(pairsOf(parse("a=%E2%82%AC")), [["a", "€"]]);
    assert.deepEqual(pairsOf(parse([0x61, 0x3d, 0xe2, 0x25, 0x38, 0x32, 0xac])), [["a", "€"]]);
  });

  test("an invalid sequence split across chunks is refused by the push that completes the field", () => {
    const parser = new FormParser(NO_LIMITS);
    parser.push(encoder.encode("ok=1&a=%E2"));
    parser.push(Uint8Array.from([0x82]));
    assert.throws(
      () => parser.push(encoder.encode("(&b=2")),
      (error) => error instanceof FormError && error.code === "form_invalid_utf8" && error.field === "a",
    );
  });

  test("an invalid sequence split across chunks at the end is refused by end", () => {
    const parser = new FormParser(NO_LIMITS);
    parser.push(encoder.encode("a=%C"));
    parser.push(encoder.encode("3%2"));
    parser.push(encoder.encode("8"));
    assert.throws(() => parser.end(), { name: "FormError", code: "form_invalid_utf8", field: "a" });
  });
});

describe("FormParser: limits", () => {
  const fieldLimit = (maxFieldBytes: number, unbounded: string[] = []): FormLimits => ({
    maxFieldBytes,
    maxFields: 100,
    unboundedFields: new Set(unbounded),
  });
  const tooLong = (field: string | undefined) => ({ code: "form_field_too_long", field });

  test("a value exactly at the limit is accepted", () => {
    assert.deepEqual(pairsOf(parse("a=12345&b=67890", fieldLimit(5))), [
      ["a", "12345"],
      ["b", "67890"],
    ]);
    assert.deepEqual(pairsOf(parse("a=%41%4", fieldLimit(5))), [["a", "A%4"]]);
    assert.deepEqual(pairsOf(parse("a=éé=", fieldLimit(5))), [["a", "éé="]]);
  });

  test("a value over the limit is refused by the push that carries the crossing byte", () => {
    assert.deepEqual(errorOf(parse("a=123456", fieldLimit(5), 7)), tooLong("a"));
    assert.deepEqual(errorOf(parse("ok=1&b=123456&c=1", fieldLimit(5), 12)), tooLong("b"));
    assert.deepEqual(errorOf(parse("a=1&b=123456789012345", fieldLimit(5), 11)), tooLong("b"));
  });

  test("the limit counts encoded bytes", () => {
    assert.deepEqual(errorOf(parse("a=%41%41", fieldLimit(5), 7)), tooLong("a"));
    assert.deepEqual(errorOf(parse("a=ééé", fieldLimit(5), 7)), tooLong("a"));
    assert.deepEqual(errorOf(parse("a=x+y+z", fieldLimit(4), 6)), tooLong("a"));
  });

  test("the field reported is the decoded name", () => {
    assert.deepEqual(errorOf(parse("%C3%A9+x=123456789", fieldLimit(8), 17)), tooLong("é x"));
  });

  test("a name exactly at the limit is accepted", () => {
    assert.deepEqual(pairsOf(parse("abcde=1&fghij", fieldLimit(5))), [
      ["abcde", "1"],
      ["fghij", ""],
    ]);
  });

  test("a name over the limit is refused by the push that carries the crossing byte", () => {
    assert.deepEqual(errorOf(parse("abcdef=1", fieldLimit(5), 5)), tooLong(undefined));
    assert.deepEqual(errorOf(parse("x=1&abcdefghij", fieldLimit(5), 9)), tooLong(undefined));
    assert.deepEqual(errorOf(parse("%41%42=1", fieldLimit(5), 5)), tooLong(undefined));
  });

  test("unbounded fields have no value limit, but their names do", () => {
    const limits = fieldLimit(6, ["data"]);
    const long = "x".repeat(50);
    assert.deepEqual(pairsOf(parse(`data=${long}&a=1`, limits)), [
      ["data", long],
      ["a", "1"],
    ]);
    assert.deepEqual(
      pairsOf(parse(`d%61ta=${long}`, limits)),
      [["data", long]],
      "matched on the decoded name",
    );
    assert.deepEqual(errorOf(parse(`datum=${long}`, limits, 12)), tooLong("datum"));
    assert.deepEqual(errorOf(parse(`data=1&Data=${long}`, limits, 18)), tooLong("Data"));
    assert.deepEqual(errorOf(parse(`data=${long}`, fieldLimit(3, ["data"]), 3)), tooLong(undefined));
  });

  test("exactly the maximum number of fields is accepted", () => {
    const limits: FormLimits = { maxFieldBytes: 100, maxFields: 2 };
    for (const body of ["a=1&b=2", "a=1&b=2&", "&&a&&=&&&", "a=1&b=2&&&"]) {
      assert.equal(pairsOf(parse(body, limits)).length, 2, body);
    }
    assert.deepEqual(pairsOf(parse("&&&", { maxFieldBytes: 100, maxFields: 0 })), []);
  });

  test("one field too many is refused by the push that carries its first byte", () => {
    const limits: FormLimits = { maxFieldBytes: 100, maxFields: 2 };
    const tooMany = { code: "form_too_many_fields", field: undefined };
    assert.deepEqual(errorOf(parse("a=1&b=2&c", limits, 8)), tooMany);
    assert.deepEqual(errorOf(parse("a=1&b=2&=", limits, 8)), tooMany);
    assert.deepEqual(errorOf(parse("a&&b&&&c=3&d=4", limits, 7)), tooMany);
    assert.deepEqual(errorOf(parse("a", { maxFieldBytes: 100, maxFields: 0 }, 0)), tooMany);
  });

  test("the error is thrown from push, before end", () => {
    const parser = new FormParser(fieldLimit(5));
    parser.push(encoder.encode("a=12"));
    parser.push(encoder.encode("34"));
    assert.throws(() => parser.push(encoder.encode("56")), {
      name: "FormError",
      code: "form_field_too_long",
    });
  });

  test("after an error, push and end throw it again", () => {
    const parser = new FormParser(fieldLimit(2));
    let first: unknown;
    try {
      parser.push(encoder.encode("abc"));
    } catch (error) {
      first = error;
    }
    assert.ok(first instanceof FormError);
    assert.ok(first instanceof Error);
    assert.equal(first.name, "FormError");
    assert.throws(
      () => parser.push(encoder.encode("=1")),
      (error) => error === first,
    );
    assert.throws(
      () => parser.end(),
      (error) => error === first,
    );
  });
});

describe("FormParser: chunking helper", () => {
  test("covers every cut point and single bytes", () => {
    const cuts = [...chunkings(encoder.encode("abcd"))].map((chunks) =>
      chunks.map((chunk) => new TextDecoder().decode(chunk)).join("|"),
    );
    for (const expected of ["abcd", "|abcd", "a|bcd", "abc|d", "abcd|", "a|b|c|d", "a|bc|d"]) {
      assert.ok(cuts.includes(expected), expected);
    }
  });
});
