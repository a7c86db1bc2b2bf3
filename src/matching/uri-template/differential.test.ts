import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { Random } from "../../../test/helpers/seeded-random.ts";
import { compileUriTemplate } from "./compile.ts";

/**
 * Differential tests against uri-template-router (https://github.com/awwright/uri-template-router),
 * an independent RFC 6570 implementation that expands templates (`Route#gen`) and matches URIs
 * with a DFA (`Route#resolveURI`). Its DFA is exact but built in time exponential in the template,
 * which is why the hub cannot use it on subscribers' templates; on small ones it is a good oracle.
 *
 * Where the library departs from RFC 6570, the generators stay out of its way:
 * - it ignores prefixes `:n` when matching (it does apply them when expanding): prefixes only
 *   appear in the expansion test;
 * - it requires every separator of a variable list (`{x,y}` does not match "a", `{?x,y}` does not
 *   match "?y=1"): matched templates have one variable per expression;
 * - it matches a non-exploded variable with the value's characters only, without the "," that
 *   joins a list or associative array, and an exploded one without the "=" of a pair: matched
 *   topics come from string values, and from lists for exploded variables;
 * - it lets the named operators (`;`, `?`, `&`) omit "=" where the RFC requires it, and expands
 *   a one-empty-member list under `;` as ";x=": named operators are left to compile.test.ts;
 * - it only accepts uppercase hex digits in a topic's pct-encoded triplets, where we accept both:
 *   topics with a lowercase triplet are skipped;
 * - it matches a non-ASCII literal character only raw, where an expansion pct-encodes it (RFC
 *   6570 section 3.1) and we accept both: template literals are ASCII.
 */
interface OracleRoute {
  resolveURI(uri: string): unknown;
}
interface OracleExpression {
  toString(params: Record<string, unknown>): string;
}
const require = createRequire(import.meta.url);
const { Route, Expression } = require("uri-template-router") as {
  Route: new (template: string) => OracleRoute;
  Expression: { from(body: string): OracleExpression };
};

function oracleMatches(route: OracleRoute, topic: string): boolean {
  try {
    return route.resolveURI(topic) !== undefined;
  } catch {
    // resolveURI only throws after its automaton accepted, while decoding the variables
    // (decodeURIComponent on a triplet that is not UTF-8).
    return true;
  }
}

const OPERATORS = ["", "+", "#", ".", "/"] as const;
const LITERALS = ["", "", "/", "x", "-", "a/b", "?q=", "."];
const WORDS = ["", "a", "1024", "é", "a/b", "50%", "%41", "x y", "k=v", "~-._", "?#[]@!$&'()*+,;", "%2F"];
// No "," or "=": see the exclusions above.
const INSERTIONS = ["/", "%2F", "?", "é", "a", "#", ".", "%", " ", "~"];
/** Enough for three expressions of three variables, each used once. */
const NAMES = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];

interface Variable {
  readonly varspec: string;
  readonly name: string;
  readonly value: string | string[] | Record<string, string> | undefined;
}

interface RandomTemplate {
  readonly template: string;
  /** The library's expansion of the template with random values. */
  readonly expansion: string;
}

/**
 * A template of one to three expressions and the library's expansion of it. The expansion comes
 * from the library's own expression code (`Expression#toString`): `Route#gen` would do the same
 * but only after building the automaton, whose cost grows exponentially with the template (a
 * `https://example.com/` prefix and two `{+…}` expressions already take seconds). `matchable`
 * templates stay in the subset where the library's automaton is exact and cheap: one variable
 * per expression, no prefix, short literals, and `+` or `#` only in the last expression.
 */
function randomTemplate(random: Random, matchable: boolean): RandomTemplate {
  let template = matchable
    ? random.pick(LITERALS)
    : random.pick(["", "https://example.com/"]) + random.pick(LITERALS);
  let expansion = template;
  const params: Record<string, unknown> = {};
  const names = [...NAMES];
  for (let i = 0, count = 1 + random.int(3); i < count; i++) {
    const variables: Variable[] = [];
    for (let j = 0, size = matchable ? 1 : 1 + random.int(3); j < size; j++) {
      variables.push(randomVariable(random, names.splice(random.int(names.length), 1)[0]!, matchable));
    }
    for (const { name, value } of variables) if (value !== undefined) params[name] = value;
    let operator: string = random.pick(OPERATORS);
    if (matchable && (operator === "+" || operator === "#") && i < count - 1)
      operator = random.pick(["", ".", "/"]);
    const body = operator + variables.map((variable) => variable.varspec).join(",");
    const literal = random.pick(LITERALS);
    template += `{${body}}${literal}`;
    expansion += Expression.from(body).toString(params) + literal;
  }
  return { template, expansion };
}

function randomVariable(random: Random, name: string, matchable: boolean): Variable {
  const list = () => Array.from({ length: 1 + random.int(3) }, () => random.pick(WORDS));
  switch (random.int(matchable ? 3 : 6)) {
    case 0:
      return { varspec: name, name, value: random.pick(WORDS) };
    case 1:
      return { varspec: name + "*", name, value: random.chance(0.5) ? list() : random.pick(WORDS) };
    case 2:
      return { varspec: name, name, value: undefined };
    case 3:
      return { varspec: `${name}:${1 + random.int(5)}`, name, value: random.pick(WORDS) };
    case 4:
      return { varspec: random.chance(0.5) ? name : name + "*", name, value: list() };
    default: {
      const keys = ["k", "semi", "a.b"];
      const map = Object.fromEntries(
        keys.slice(0, 1 + random.int(3)).map((key) => [key, random.pick(WORDS)]),
      );
      return { varspec: random.chance(0.5) ? name : name + "*", name, value: map };
    }
  }
}

/** The expansion with one character inserted, deleted or replaced. */
function mutate(random: Random, topic: string): string {
  const at = random.int(topic.length + 1);
  switch (random.int(3)) {
    case 0:
      return topic.slice(0, at) + random.pick(INSERTIONS) + topic.slice(at);
    case 1:
      return topic.slice(0, at) + topic.slice(at + 1);
    default:
      return topic.slice(0, at) + random.pick(INSERTIONS) + topic.slice(at + 1);
  }
}

function hasLowercaseTriplet(topic: string): boolean {
  return /%(?:[0-9A-Fa-f][a-f]|[a-f][0-9A-Fa-f])/.test(topic);
}

describe("differential testing against uri-template-router", () => {
  test("the library's expansions of random templates match our compiled templates", () => {
    const random = new Random(0x6570_0001);
    const failures: string[] = [];
    for (let round = 0; round < 3000; round++) {
      const { template, expansion } = randomTemplate(random, false);
      if (!compileUriTemplate(template).test(expansion)) failures.push(`${template} → ${expansion}`);
    }
    assert.deepEqual(failures.slice(0, 10), []);
  });

  test("mutated expansions: we match exactly when the library does", () => {
    const random = new Random(0x6570_0002);
    const divergences: string[] = [];
    let pairs = 0;
    let matches = 0;
    for (let round = 0; round < 400; round++) {
      const { template, expansion } = randomTemplate(random, true);
      const route = new Route(template);
      const ours = compileUriTemplate(template);
      const topics = [
        expansion,
        mutate(random, expansion),
        mutate(random, expansion),
        mutate(random, expansion),
      ];
      topics.push(mutate(random, topics[1]!));
      for (const topic of topics) {
        if (hasLowercaseTriplet(topic)) continue;
        const expected = oracleMatches(route, topic);
        pairs++;
        if (expected) matches++;
        if (ours.test(topic) !== expected)
          divergences.push(`${template} ${JSON.stringify(topic)}: oracle ${expected}`);
      }
    }
    assert.deepEqual(divergences.slice(0, 10), []);
    // Both answers must be well represented.
    assert.ok(matches > pairs / 4 && matches < (3 * pairs) / 4, `${matches} of ${pairs} pairs match`);
  });
});
