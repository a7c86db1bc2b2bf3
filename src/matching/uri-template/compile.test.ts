import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Random } from "../../../test/helpers/seeded-random.ts";
import { InvalidMatcherError } from "../matcher.ts";
import { type CompiledUriTemplate, compileUriTemplate } from "./compile.ts";
import { type Operator, parseUriTemplate } from "./parse.ts";

/**
 * A topic matches a template when some expansion of it could produce the topic. The expansions
 * here come from `expand`, a direct transcription of RFC 6570 appendix A, checked first against
 * every example of section 3.2.
 */
type Value = string | readonly string[] | Readonly<Record<string, string>> | null;
type Variables = Readonly<Record<string, Value>>;

const RULES: Record<
  Operator,
  { first: string; sep: string; named: boolean; ifemp: string; reserved: boolean }
> = {
  "": { first: "", sep: ",", named: false, ifemp: "", reserved: false },
  "+": { first: "", sep: ",", named: false, ifemp: "", reserved: true },
  "#": { first: "#", sep: ",", named: false, ifemp: "", reserved: true },
  ".": { first: ".", sep: ".", named: false, ifemp: "", reserved: false },
  "/": { first: "/", sep: "/", named: false, ifemp: "", reserved: false },
  ";": { first: ";", sep: ";", named: true, ifemp: "", reserved: false },
  "?": { first: "?", sep: "&", named: true, ifemp: "=", reserved: false },
  "&": { first: "&", sep: "&", named: true, ifemp: "=", reserved: false },
};

const RESERVED = ":/?#[]@!$&'()*+,;=";
const utf8 = new TextEncoder();

function encode(value: string, reserved: boolean): string {
  let result = "";
  for (let i = 0; i < value.length; ) {
    // U+R keeps pct-encoded triplets already in the value.
    if (reserved && /^%[0-9A-Fa-f]{2}/.test(value.slice(i, i + 3))) {
      result += value.slice(i, i + 3);
      i += 3;
      continue;
    }
    const char = String.fromCodePoint(value.codePointAt(i)!);
    i += char.length;
    if (/^[A-Za-z0-9\-._~]$/.test(char) || (reserved && RESERVED.includes(char))) result += char;
    else
      for (const byte of utf8.encode(char)) result += "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return result;
}

function isDefined(value: Value | undefined): value is Exclude<Value, null> {
  if (value === null || value === undefined) return false;
  if (typeof value === "string") return true;
  return Array.isArray(value) ? value.length > 0 : Object.keys(value).length > 0;
}

/** RFC 6570 appendix A. */
function expand(template: string, variables: Variables): string {
  let result = "";
  for (const part of parseUriTemplate(template)) {
    if (part.kind === "literal") {
      result += encode(part.text, true);
      continue;
    }
    const { first, sep, named, ifemp, reserved } = RULES[part.operator];
    const expansions: string[] = [];
    for (const { name, explode, maxLength } of part.variables) {
      const value = variables[name];
      if (!isDefined(value)) continue;
      const named1 = (key: string, item: string) =>
        key + (item === "" ? ifemp : "=" + encode(item, reserved));
      if (typeof value === "string") {
        const truncated = maxLength === undefined ? value : [...value].slice(0, maxLength).join("");
        expansions.push(named ? named1(name, truncated) : encode(truncated, reserved));
      } else if (!explode) {
        const items = Array.isArray(value) ? (value as readonly string[]) : Object.entries(value).flat();
        const joined = items.map((item) => encode(item, reserved)).join(",");
        expansions.push(named ? name + (joined === "" ? ifemp : "=" + joined) : joined);
      } else if (Array.isArray(value)) {
        const items = value as readonly string[];
        expansions.push(items.map((item) => (named ? named1(name, item) : encode(item, reserved))).join(sep));
      } else {
        const pairs = Object.entries(value);
        expansions.push(
          pairs
            .map(([key, item]) =>
              named
                ? named1(encode(key, reserved), item)
                : encode(key, reserved) + "=" + encode(item, reserved),
            )
            .join(sep),
        );
      }
    }
    if (expansions.length > 0) result += first + expansions.join(sep);
  }
  return result;
}

/** The variables of RFC 6570 section 3.2. */
const RFC_VARIABLES: Variables = {
  count: ["one", "two", "three"],
  dom: ["example", "com"],
  dub: "me/too",
  hello: "Hello World!",
  half: "50%",
  var: "value",
  who: "fred",
  base: "http://example.com/home/",
  path: "/foo/bar",
  list: ["red", "green", "blue"],
  keys: { semi: ";", dot: ".", comma: "," },
  v: "6",
  x: "1024",
  y: "768",
  empty: "",
  empty_keys: {},
  undef: null,
};

/** Every example of RFC 6570 sections 3.2.1 to 3.2.9, with its expansion. */
const RFC_EXAMPLES: readonly (readonly [string, string])[] = [
  // 3.2.1
  ["{count}", "one,two,three"],
  ["{count*}", "one,two,three"],
  ["{/count}", "/one,two,three"],
  ["{/count*}", "/one/two/three"],
  ["{;count}", ";count=one,two,three"],
  ["{;count*}", ";count=one;count=two;count=three"],
  ["{?count}", "?count=one,two,three"],
  ["{?count*}", "?count=one&count=two&count=three"],
  ["{&count*}", "&count=one&count=two&count=three"],
  // 3.2.2
  ["{var}", "value"],
  ["{hello}", "Hello%20World%21"],
  ["{half}", "50%25"],
  ["O{empty}X", "OX"],
  ["O{undef}X", "OX"],
  ["{x,y}", "1024,768"],
  ["{x,hello,y}", "1024,Hello%20World%21,768"],
  ["?{x,empty}", "?1024,"],
  ["?{x,undef}", "?1024"],
  ["?{undef,y}", "?768"],
  ["{var:3}", "val"],
  ["{var:30}", "value"],
  ["{list}", "red,green,blue"],
  ["{list*}", "red,green,blue"],
  ["{keys}", "semi,%3B,dot,.,comma,%2C"],
  ["{keys*}", "semi=%3B,dot=.,comma=%2C"],
  // 3.2.3
  ["{+var}", "value"],
  ["{+hello}", "Hello%20World!"],
  ["{+half}", "50%25"],
  ["{base}index", "http%3A%2F%2Fexample.com%2Fhome%2Findex"],
  ["{+base}index", "http://example.com/home/index"],
  ["O{+empty}X", "OX"],
  ["O{+undef}X", "OX"],
  ["{+path}/here", "/foo/bar/here"],
  ["here?ref={+path}", "here?ref=/foo/bar"],
  ["up{+path}{var}/here", "up/foo/barvalue/here"],
  ["{+x,hello,y}", "1024,Hello%20World!,768"],
  ["{+path,x}/here", "/foo/bar,1024/here"],
  ["{+path:6}/here", "/foo/b/here"],
  ["{+list}", "red,green,blue"],
  ["{+list*}", "red,green,blue"],
  ["{+keys}", "semi,;,dot,.,comma,,"],
  ["{+keys*}", "semi=;,dot=.,comma=,"],
  // 3.2.4
  ["{#var}", "#value"],
  ["{#hello}", "#Hello%20World!"],
  ["{#half}", "#50%25"],
  ["foo{#empty}", "foo#"],
  ["foo{#undef}", "foo"],
  ["{#x,hello,y}", "#1024,Hello%20World!,768"],
  ["{#path,x}/here", "#/foo/bar,1024/here"],
  ["{#path:6}/here", "#/foo/b/here"],
  ["{#list}", "#red,green,blue"],
  ["{#list*}", "#red,green,blue"],
  ["{#keys}", "#semi,;,dot,.,comma,,"],
  ["{#keys*}", "#semi=;,dot=.,comma=,"],
  // 3.2.5
  ["{.who}", ".fred"],
  ["{.who,who}", ".fred.fred"],
  ["{.half,who}", ".50%25.fred"],
  ["www{.dom*}", "www.example.com"],
  ["X{.var}", "X.value"],
  ["X{.empty}", "X."],
  ["X{.undef}", "X"],
  ["X{.var:3}", "X.val"],
  ["X{.list}", "X.red,green,blue"],
  ["X{.list*}", "X.red.green.blue"],
  ["X{.keys}", "X.semi,%3B,dot,.,comma,%2C"],
  ["X{.keys*}", "X.semi=%3B.dot=..comma=%2C"],
  ["X{.empty_keys}", "X"],
  ["X{.empty_keys*}", "X"],
  // 3.2.6
  ["{/who}", "/fred"],
  ["{/who,who}", "/fred/fred"],
  ["{/half,who}", "/50%25/fred"],
  ["{/who,dub}", "/fred/me%2Ftoo"],
  ["{/var}", "/value"],
  ["{/var,empty}", "/value/"],
  ["{/var,undef}", "/value"],
  ["{/var,x}/here", "/value/1024/here"],
  ["{/var:1,var}", "/v/value"],
  ["{/list}", "/red,green,blue"],
  ["{/list*}", "/red/green/blue"],
  ["{/list*,path:4}", "/red/green/blue/%2Ffoo"],
  ["{/keys}", "/semi,%3B,dot,.,comma,%2C"],
  ["{/keys*}", "/semi=%3B/dot=./comma=%2C"],
  // 3.2.7
  ["{;who}", ";who=fred"],
  ["{;half}", ";half=50%25"],
  ["{;empty}", ";empty"],
  ["{;v,empty,who}", ";v=6;empty;who=fred"],
  ["{;v,bar,who}", ";v=6;who=fred"],
  ["{;x,y}", ";x=1024;y=768"],
  ["{;x,y,empty}", ";x=1024;y=768;empty"],
  ["{;x,y,undef}", ";x=1024;y=768"],
  ["{;hello:5}", ";hello=Hello"],
  ["{;list}", ";list=red,green,blue"],
  ["{;list*}", ";list=red;list=green;list=blue"],
  ["{;keys}", ";keys=semi,%3B,dot,.,comma,%2C"],
  ["{;keys*}", ";semi=%3B;dot=.;comma=%2C"],
  // 3.2.8
  ["{?who}", "?who=fred"],
  ["{?half}", "?half=50%25"],
  ["{?x,y}", "?x=1024&y=768"],
  ["{?x,y,empty}", "?x=1024&y=768&empty="],
  ["{?x,y,undef}", "?x=1024&y=768"],
  ["{?var:3}", "?var=val"],
  ["{?list}", "?list=red,green,blue"],
  ["{?list*}", "?list=red&list=green&list=blue"],
  ["{?keys}", "?keys=semi,%3B,dot,.,comma,%2C"],
  ["{?keys*}", "?semi=%3B&dot=.&comma=%2C"],
  // 3.2.9
  ["{&who}", "&who=fred"],
  ["{&half}", "&half=50%25"],
  ["?fixed=yes{&x}", "?fixed=yes&x=1024"],
  ["{&x,y,empty}", "&x=1024&y=768&empty="],
  ["{&var:3}", "&var=val"],
  ["{&list}", "&list=red,green,blue"],
  ["{&list*}", "&list=red&list=green&list=blue"],
  ["{&keys}", "&keys=semi,%3B,dot,.,comma,%2C"],
  ["{&keys*}", "&semi=%3B&dot=.&comma=%2C"],
];

function assertMatches(template: string, topics: Record<string, boolean>): void {
  const compiled = compileUriTemplate(template);
  for (const [topic, expected] of Object.entries(topics)) {
    assert.equal(compiled.test(topic), expected, `${template} against ${JSON.stringify(topic)}`);
  }
}

function assertRejected(template: string, code: InvalidMatcherError["code"], message?: RegExp): void {
  assert.throws(
    () => compileUriTemplate(template),
    (error) => {
      assert.ok(error instanceof InvalidMatcherError, `${template.slice(0, 40)}: ${error}`);
      assert.equal(error.code, code, `${template.slice(0, 40)}: ${error.message}`);
      if (message) assert.match(error.message, message);
      return true;
    },
  );
}

describe("compileUriTemplate", () => {
  test("the expander used by these tests reproduces every example of RFC 6570 section 3.2", () => {
    for (const [template, expansion] of RFC_EXAMPLES) {
      assert.equal(expand(template, RFC_VARIABLES), expansion, template);
    }
  });

  test("every example expansion of RFC 6570 section 3.2 matches its template", () => {
    for (const [template, expansion] of RFC_EXAMPLES) {
      assert.equal(compileUriTemplate(template).test(expansion), true, `${template} against ${expansion}`);
    }
  });

  test("simple expansion: unreserved characters and pct-encoded triplets only", () => {
    assertMatches("https://example.com/books/{id}", {
      "https://example.com/books/1": true,
      "https://example.com/books/a%2Fb": true,
      "https://example.com/books/a%2fb": true,
      "https://example.com/books/": true,
      "https://example.com/books/a-b.c_d~e": true,
      "https://example.com/books/1,2": true, // a list value
      "https://example.com/books/1/reviews": false,
      "https://example.com/books/é": false, // non-ASCII is always pct-encoded
      "https://example.com/books/%C3%A9": true,
      "https://example.com/books/a%2": false,
      "https://example.com/books/a%zz": false,
      "https://example.com/books/a?b": false,
      "https://example.com/books/a b": false,
      "https://example.org/books/1": false,
      "http://example.com/books/1": false,
      "https://example.com/books": false,
      "https://example.com/books/{id}": true, // the template itself
      "https://example.com/books/{idx}": false,
    });
  });

  test("reserved and fragment expansion may produce reserved characters", () => {
    assertMatches("https://example.com{+path}", {
      "https://example.com/a/b?c=d#e": true,
      "https://example.com": true,
      "https://example.com/a%20b": true,
      "https://example.com/a b": false,
      "https://example.com/é": false,
      "https://example.com/a%": false,
      "https://example.com/a<b": false,
    });
    assertMatches("https://example.com/{#frag}", {
      "https://example.com/#a/b,c": true,
      "https://example.com/#": true,
      "https://example.com/": true,
      "https://example.com/a": false,
      "https://example.com/#a#b": true, // "#" is reserved: allowed in the value
    });
  });

  test("variable lists skip undefined variables, in order", () => {
    assertMatches("{?q,r}", {
      "?q=1&r=2": true,
      "?q=1": true,
      "?r=2": true,
      "": true,
      "?q=&r=": true,
      "?r=2&q=1": false,
      "?q": false, // "?" emits "q=" for an empty value
      "?q=1&": false,
      "&q=1": false,
      "?q=1&r=2&r=3": false,
      "?s=1": false,
    });
    assertMatches("{/a,b}", {
      "/x/y": true,
      "/x": true,
      "/": true,
      "//": true,
      "": true,
      x: false,
      "/x/y/z": false,
    });
    assertMatches("{;x,y}", {
      ";x=1;y=2": true,
      ";x": true,
      ";y=2": true,
      ";x=": false, // ";" emits only the name for an empty value
      ";y;x": false,
    });
    assertMatches("{/a,b,c}", { "/1/2/3": true, "/1/2/3/4": false, "/1//3": true, "1/2": false });
    // "." is unreserved: a value may contain the separator of the "." operator.
    assertMatches("{.a,b,c}", { ".1.2.3.4": true, "1.2": false });
  });

  test("explode joins members with the operator's separator, named ones as name=value pairs", () => {
    assertMatches("{/list*}", { "/a/b/c": true, "/a": true, "": true, "/a//b": true, "a/b": false });
    assertMatches("{.dom*}", { ".example.com": true, ".a=b.c=d": true, ".a/b": false });
    assertMatches("{?list*}", {
      "?list=a&list=b": true,
      "?list=": true,
      "?a=1&b=2": true, // an associative array's keys
      "?a%20b=1": true,
      "?list": false,
      "?=1": false,
      "?list=a&": false,
    });
    assertMatches("{;list*}", { ";list=a;list;x=1": true, ";=1": false });
    assertMatches("{keys*}", { "a=1,b=2": true, "a=1=2": false, "a/b": false });
    assertMatches("{+keys*}", { "a=1,b=/2": true });
  });

  test("a prefix keeps at most n characters of the value; an encoded character counts as one", () => {
    assertMatches("{x:3}", {
      "": true,
      abc: true,
      abcd: false,
      "%C3%A9%C3%A9%C3%A9": true,
      "%C3%A9%C3%A9%C3%A9%C3%A9": false,
      "%F0%9F%98%80": true, // one 4-octet character
      "%2F%2F%2F": true,
      "a,b": false, // prefixes apply to strings only
    });
    assertMatches("{?x:2}", { "?x=ab": true, "?x=": true, "?x=abc": false, "?x": false });
    assertMatches("{;x:2}", { ";x=ab": true, ";x": true, ";x=": false, ";x=abc": false });
    assertMatches("{+x:2}", { "/a": true, "/ab": false });
    assert.equal(compileUriTemplate("{x:100}").test("a".repeat(100)), true);
    assert.equal(compileUriTemplate("{x:100}").test("a".repeat(101)), false);
  });

  test("literals match themselves, and non-ASCII ones their pct-encoded expansion too", () => {
    assertMatches("https://example.com/café/{x}", {
      "https://example.com/café/1": true,
      "https://example.com/caf%C3%A9/1": true,
      "https://example.com/caf%c3%a9/1": false,
      "https://example.com/cafe/1": false,
    });
    assertMatches("https://example.com/a%2Fb/{x}", {
      "https://example.com/a%2Fb/1": true,
      "https://example.com/a%2fb/1": false,
      "https://example.com/a/b/1": false,
    });
    // Characters special to regular expressions are plain text in a template.
    assertMatches("a.b*c+d?e(f)[g]$h{x}", { "a.b*c+d?e(f)[g]$h": true, "aXb*c+d?e(f)[g]$h": false });
  });

  test("a template without expressions is compared as a string", () => {
    const compiled = compileUriTemplate("https://example.com/books/1");
    assert.equal(compiled.source, undefined);
    assert.equal(compiled.test("https://example.com/books/1"), true);
    assert.equal(compiled.test("https://example.com/books/10"), false);
  });

  test("random templates and variables: every expansion matches, and none with a raw forbidden character", () => {
    const random = new Random(0x6570);
    const operators: Operator[] = ["", "+", "#", ".", "/", ";", "?", "&"];
    const names = ["a", "b", "c", "x.y", "%41"];
    const strings = [
      "",
      "a",
      "1024",
      "é",
      "a/b",
      "50%",
      "%41",
      "x y",
      "a,b",
      "k=v",
      "~-._",
      "?#[]@!$&'()*+;",
    ];
    const randomValue = (): Value => {
      switch (random.int(5)) {
        case 0:
          return null;
        case 1:
          return Array.from({ length: random.int(3) }, () => random.pick(strings));
        case 2:
          // Keys are taken to be non-empty, like varnames (see compile.ts).
          return Object.fromEntries(
            Array.from({ length: random.int(3) }, () => [random.pick(strings) || "k", random.pick(strings)]),
          );
        default:
          return random.pick(strings);
      }
    };
    const mismatches: string[] = [];
    for (let round = 0; round < 400; round++) {
      let template = random.pick(["", "https://example.com/", "x"]);
      const variables: Record<string, Value> = {};
      for (let i = 0, count = 1 + random.int(3); i < count; i++) {
        const varspecs = Array.from({ length: 1 + random.int(3) }, () => {
          const name = random.pick(names);
          variables[name] ??= randomValue();
          const modifier = random.int(3);
          // Prefixes apply to strings only.
          if (modifier === 0 && typeof variables[name] === "string") return `${name}:${1 + random.int(4)}`;
          return modifier === 1 ? name + "*" : name;
        });
        template += `{${random.pick(operators)}${varspecs.join(",")}}` + random.pick(["", "/", "-"]);
      }
      const expansion = expand(template, variables);
      const compiled = compileUriTemplate(template);
      assert.equal(compiled.test(expansion), true, `${template} ${JSON.stringify(variables)} → ${expansion}`);
      // A raw space or non-ASCII character can never appear in an expansion of these templates.
      const at = random.int(expansion.length + 1);
      const corrupted = expansion.slice(0, at) + random.pick([" ", "é", '"', "<", "^"]) + expansion.slice(at);
      if (compiled.test(corrupted)) mismatches.push(`${template} ${corrupted}`);
    }
    assert.deepEqual(mismatches, []);
  });

  test("the generated source is valid v-flag syntax and means the same for V8 on short topics", () => {
    const topics = [
      "",
      "a",
      "/a/b",
      "?a=1&b=2",
      ";a;b=1",
      "#x,y",
      ".a.b",
      "a%2Fb",
      "%C3%A9",
      "a=b,c",
      "é",
      "a b",
    ];
    for (const [template] of RFC_EXAMPLES) {
      const compiled = compileUriTemplate(template);
      if (compiled.source === undefined) continue;
      const native = new RegExp(compiled.source, "v");
      for (const topic of topics)
        assert.equal(compiled.test(topic), native.test(topic), `${template} ${topic}`);
    }
    // Every literal character that is special somewhere in a v-flag regular expression.
    const punctuation = "!#$&()*+,-./:;=?@[]_~";
    const compiled = compileUriTemplate(`${punctuation}{+x}${punctuation}`);
    assert.ok(compiled.source !== undefined);
    const native = new RegExp(compiled.source, "v");
    for (const topic of [punctuation + punctuation, punctuation + "/a/" + punctuation, punctuation]) {
      assert.equal(compiled.test(topic), native.test(topic), topic);
    }
    assert.equal(compiled.test(punctuation + punctuation), true);
  });

  test("refuses malformed templates and unsupported features with their codes", () => {
    assertRejected("https://example.com/{id", "uritemplate_syntax");
    assertRejected("https://example.com/ {id}", "uritemplate_syntax");
    assertRejected("{!x}", "uritemplate_unsupported");
    assertRejected(
      "{x:101}",
      "uritemplate_unsupported",
      /prefix length 101 of "x" at offset 1 is above the supported maximum of 100/,
    );
    // Programs larger than the engine's limit, or nesting deeper than it reads.
    assertRejected("{a:100}".repeat(10), "uritemplate_unsupported", /too large to match/);
    assertRejected("{a}".repeat(2000), "uritemplate_unsupported", /too large to match/);
    assertRejected(
      `{${Array.from({ length: 300 }, (_, i) => `v${i}`).join(",")}}`,
      "uritemplate_unsupported",
    );
  });
});

/**
 * Linearity is shown with the engine's step counter, never with a clock: a run takes at most
 * (length + 1) × (4 × size + 1) steps, and twice as long a topic takes about twice the steps.
 */
describe("pathological templates run in linear time", () => {
  function testLinearly(compiled: CompiledUriTemplate, topic: string): boolean {
    const result = compiled.test(topic);
    const bound = (topic.length + 1) * (4 * compiled.programSize + 1);
    assert.ok(compiled.lastSteps <= bound, `${compiled.lastSteps} steps exceed the bound ${bound}`);
    assert.equal(compiled.budgetExhausted, false);
    return result;
  }

  function assertScalesLinearly(compiled: CompiledUriTemplate, makeTopic: (length: number) => string): void {
    testLinearly(compiled, makeTopic(2048));
    const short = compiled.lastSteps;
    testLinearly(compiled, makeTopic(4096));
    const long = compiled.lastSteps;
    assert.ok(long <= 2.1 * short, `steps went from ${short} to ${long} when the topic doubled`);
  }

  const A4096 = "a".repeat(4096);

  test("{a}{b}{c}{d}{e}{f}{g}{h}", () => {
    const compiled = compileUriTemplate("{a}{b}{c}{d}{e}{f}{g}{h}");
    assert.equal(testLinearly(compiled, A4096), true);
    assert.equal(testLinearly(compiled, A4096 + "/"), false);
    assert.equal(testLinearly(compiled, "/" + A4096), false);
    assertScalesLinearly(compiled, (length) => "a".repeat(length - 1) + "/");
  });

  test("{+a}x{+b}x{+c}x{+d}x{+e}x{+f}x{+g}x{+h}", () => {
    const compiled = compileUriTemplate("{+a}x{+b}x{+c}x{+d}x{+e}x{+f}x{+g}x{+h}");
    assert.equal(testLinearly(compiled, "x".repeat(4096)), true);
    assert.equal(testLinearly(compiled, "x".repeat(6)), false);
    assert.equal(testLinearly(compiled, "x/".repeat(2048) + " "), false);
    assertScalesLinearly(compiled, (length) => "x/".repeat(length / 2 - 1) + "é");
  });

  test("exploded and named expressions, lists and prefixes", () => {
    for (const template of [
      "{/a*}{/b*}{/c*}{/d*}{/e*}",
      "{.a*}{.b*}{.c*}{.d*}",
      "{?a*}{&b*}{&c*}{&d*}",
      "{;a*}{;b*}{;c*}",
      "{a,b,c,d,e,f,g,h}",
      "{?a,b,c,d,e,f,g,h}",
      "{a:100}{b:100}{c:100}{d:100}",
      "{#a}{#b}{#c}{#d}",
      "https://example.com/{a}{b}/{+c}x{+d}{?e*}",
    ]) {
      const compiled = compileUriTemplate(template);
      const topic = (length: number) => "/a=a.a&a;".repeat(length / 8) + " ";
      assert.equal(testLinearly(compiled, topic(4096)), false, template);
      assertScalesLinearly(compiled, topic);
    }
  });
});
