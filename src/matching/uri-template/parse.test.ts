import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidMatcherError } from "../matcher.ts";
import { parseUriTemplate } from "./parse.ts";

function assertRejected(template: string, code: InvalidMatcherError["code"], message?: RegExp): void {
  assert.throws(
    () => parseUriTemplate(template),
    (error) => {
      assert.ok(error instanceof InvalidMatcherError, `${template}: ${error}`);
      assert.equal(error.code, code, `${template}: ${error.message}`);
      if (message) assert.match(error.message, message, template);
      return true;
    },
  );
}

describe("parseUriTemplate", () => {
  test("splits literals and expressions", () => {
    assert.deepEqual(parseUriTemplate("https://example.com/books/{id}{?q,lang:2}{/path*}"), [
      { kind: "literal", text: "https://example.com/books/" },
      {
        kind: "expression",
        operator: "",
        variables: [{ name: "id", explode: false, maxLength: undefined, offset: 27 }],
        offset: 26,
      },
      {
        kind: "expression",
        operator: "?",
        variables: [
          { name: "q", explode: false, maxLength: undefined, offset: 32 },
          { name: "lang", explode: false, maxLength: 2, offset: 34 },
        ],
        offset: 30,
      },
      {
        kind: "expression",
        operator: "/",
        variables: [{ name: "path", explode: true, maxLength: undefined, offset: 43 }],
        offset: 41,
      },
    ]);
    assert.deepEqual(parseUriTemplate(""), []);
    assert.deepEqual(parseUriTemplate("urn:isbn:0451450523"), [
      { kind: "literal", text: "urn:isbn:0451450523" },
    ]);
  });

  test("accepts every operator and the varname grammar", () => {
    for (const operator of ["", "+", "#", ".", "/", ";", "?", "&"]) {
      const [part] = parseUriTemplate(`{${operator}a,b.c,%41_1:9999,d*}`);
      assert.ok(part?.kind === "expression");
      assert.equal(part.operator, operator);
      assert.deepEqual(
        part.variables.map((variable) => [variable.name, variable.explode, variable.maxLength]),
        [
          ["a", false, undefined],
          ["b.c", false, undefined],
          ["%41_1", false, 9999],
          ["d", true, undefined],
        ],
      );
    }
  });

  test("accepts the literals of RFC 6570: reserved characters, pct-encoded triplets, ucschar, iprivate", () => {
    const literal = "!#$&()*+,-./09:;=?@AZ[]_az~%2f%C3%A9é\u00a0\ue000\u{10000}\u{e1000}\u{10fffd}";
    assert.deepEqual(parseUriTemplate(literal), [{ kind: "literal", text: literal }]);
  });

  test("refuses characters the literals rule excludes, with their offset", () => {
    for (const [template, offset] of [
      ["a b", 1],
      ['a"b', 1],
      ["a'b", 1],
      ["a<b", 1],
      ["a>b", 1],
      ["a\\b", 1],
      ["a^b", 1],
      ["a`b", 1],
      ["a|b", 1],
      ["a\tb", 1],
      ["a\u007fb", 1],
      ["a\u0085b", 1], // a C1 control, below ucschar's range
      ["a\ufffeb", 1], // a noncharacter
      ["a\u{1fffe}b", 1],
      ["a\u{e0001}b", 1], // the tags block, excluded from ucschar
      ["a\ud800b", 1], // a lone surrogate
    ] as const) {
      assertRejected(template, "uritemplate_syntax", new RegExp(`not allowed at offset ${offset}$`));
    }
  });

  test("refuses malformed pct-encoding and braces", () => {
    assertRejected("a%2", "uritemplate_syntax", /pct-encoded triplet \(%XX\) at offset 1/);
    assertRejected("a%zz", "uritemplate_syntax", /offset 1/);
    assertRejected("a}b", "uritemplate_syntax", /"}" without a matching "{" at offset 1/);
    assertRejected("a{b", "uritemplate_syntax", /"{" is never closed at offset 1/);
    assertRejected("a{b{c}", "uritemplate_syntax", /unexpected "{" .* at offset 3/);
    assertRejected("{}", "uritemplate_syntax", /empty expression \{\} at offset 0/);
    assertRejected("x{+}", "uritemplate_syntax", /missing variable name at offset 3/);
  });

  test("refuses malformed variable lists", () => {
    for (const [template, offset] of [
      ["{a,}", 3],
      ["{,a}", 1],
      ["{a b}", 2],
      ["{a-b}", 2],
      ["{.a.}", 3],
      ["{a..b}", 2],
      ["{.a,.b}", 4],
      ["{a%2}", 2],
      ["{a:0}", 3],
      ["{a:01}", 3],
      ["{a:10000}", 3],
      ["{a:}", 3],
      ["{a:3*}", 4],
      ["{a*:3}", 3],
      ["{a**}", 3],
      ["{é}", 1],
    ] as const) {
      // "{,a}" is the reserved operator ","
      const code = template === "{,a}" ? "uritemplate_unsupported" : "uritemplate_syntax";
      assertRejected(template, code, new RegExp(`offset ${offset}`));
    }
  });

  test("refuses the operators RFC 6570 reserves for extensions", () => {
    for (const operator of ["=", ",", "!", "@", "|"]) {
      assertRejected(`x{${operator}a}`, "uritemplate_unsupported", /at offset 2 is reserved by RFC 6570/);
    }
  });
});
