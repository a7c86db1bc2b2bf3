import { InvalidMatcherError } from "../matcher.ts";
import { type ClassExpr, complement, DIGIT, DOT, property, ranges, SPACE, WORD } from "./char-class.ts";

/**
 * Parser for the regular expressions URL Patterns produce, read with the `v` (unicodeSets) flag
 * like Node and the current standard do, into a tree for `regexp-engine.ts`.
 *
 * It accepts the regular-language subset that a linear-time automaton can run: literals, escapes,
 * `.`, classes (with `v` set operations and `\p{…}`), groups, alternation, quantifiers (counted ones
 * bounded) and the assertions `^ $ \b \B`. Backreferences and lookaround need backtracking or
 * unbounded memory and are refused with `urlpattern_unsupported`, as are inline modifiers and
 * string-valued classes. The source was already validated by V8 (the native `URLPattern`
 * constructor compiled it), so the parser trusts its overall shape and only has to recognise it.
 */
export type RegexpNode =
  | { readonly kind: "empty" }
  | { readonly kind: "set"; readonly set: ClassExpr }
  | { readonly kind: "sequence"; readonly items: readonly RegexpNode[] }
  | { readonly kind: "alternation"; readonly items: readonly RegexpNode[] }
  | { readonly kind: "repeat"; readonly item: RegexpNode; readonly min: number; readonly max: number }
  | { readonly kind: "assertion"; readonly assertion: Assertion };

export type Assertion = "start" | "end" | "word-boundary" | "not-word-boundary";

/** Largest count accepted in `{n}`, `{n,}` and `{n,m}`: each count copies the repeated program. */
export const MAX_REPEAT_COUNT = 100;
/** Deepest group nesting accepted; keeps the recursive descent far from the stack limit. */
export const MAX_NESTING = 200;

const EMPTY: RegexpNode = { kind: "empty" };

export function parseRegexp(source: string): RegexpNode {
  return new RegexpParser(source).parse();
}

function unsupported(message: string): never {
  throw new InvalidMatcherError("urlpattern_unsupported", message);
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  return -1;
}

/** A class operand, with the code point it stands for when it is a single character (for ranges). */
interface ClassOperand {
  readonly set: ClassExpr;
  readonly codePoint: number;
}

class RegexpParser {
  private readonly source: string;
  private position = 0;
  private depth = 0;

  constructor(source: string) {
    this.source = source;
  }

  parse(): RegexpNode {
    const node = this.disjunction();
    if (this.position < this.source.length) this.malformed("unbalanced )");
    return node;
  }

  private malformed(why: string): never {
    throw new InvalidMatcherError(
      "urlpattern_syntax",
      `the regular expression ${JSON.stringify(this.source)} could not be read: ${why} at index ${this.position}`,
    );
  }

  private peek(offset = 0): number {
    const index = this.position + offset;
    return index < this.source.length ? this.source.charCodeAt(index) : -1;
  }

  private eat(char: string): boolean {
    if (this.source.startsWith(char, this.position)) {
      this.position += char.length;
      return true;
    }
    return false;
  }

  private expect(char: string): void {
    if (!this.eat(char)) this.malformed(`expected ${char}`);
  }

  /** The next code point, consumed. */
  private codePoint(): number {
    if (this.position >= this.source.length) this.malformed("unexpected end");
    const codePoint = this.source.codePointAt(this.position)!;
    this.position += codePoint > 0xffff ? 2 : 1;
    return codePoint;
  }

  private disjunction(): RegexpNode {
    const alternatives = [this.alternative()];
    while (this.eat("|")) alternatives.push(this.alternative());
    return alternatives.length === 1 ? alternatives[0]! : { kind: "alternation", items: alternatives };
  }

  private alternative(): RegexpNode {
    const items: RegexpNode[] = [];
    for (;;) {
      const code = this.peek();
      if (code === -1 || code === 0x7c /* | */ || code === 0x29 /* ) */) break;
      items.push(this.term());
    }
    if (items.length === 0) return EMPTY;
    return items.length === 1 ? items[0]! : { kind: "sequence", items };
  }

  private term(): RegexpNode {
    const code = this.peek();
    if (code === 0x5e /* ^ */) {
      this.position++;
      return { kind: "assertion", assertion: "start" };
    }
    if (code === 0x24 /* $ */) {
      this.position++;
      return { kind: "assertion", assertion: "end" };
    }
    if (code === 0x5c /* \ */ && (this.peek(1) === 0x62 || this.peek(1) === 0x42) /* b B */) {
      const assertion = this.peek(1) === 0x62 ? "word-boundary" : "not-word-boundary";
      this.position += 2;
      return { kind: "assertion", assertion };
    }
    return this.quantified(this.atom());
  }

  private atom(): RegexpNode {
    const code = this.peek();
    switch (code) {
      case 0x28 /* ( */:
        return this.group();
      case 0x2e /* . */:
        this.position++;
        return { kind: "set", set: DOT };
      case 0x5b /* [ */:
        this.position++;
        return { kind: "set", set: this.classBody() };
      case 0x5c /* \ */:
        this.position++;
        return this.atomEscape();
      case 0x2a /* * */:
      case 0x2b /* + */:
      case 0x3f /* ? */:
      case 0x7b /* { */:
        return this.malformed("nothing to repeat");
      default: {
        const codePoint = this.codePoint();
        return { kind: "set", set: ranges(codePoint, codePoint) };
      }
    }
  }

  private group(): RegexpNode {
    this.position++;
    if (this.eat("?")) {
      if (this.eat("="))
        unsupported("lookahead assertions (?=…) are not supported in URL pattern regexp groups");
      if (this.eat("!"))
        unsupported("negative lookahead assertions (?!…) are not supported in URL pattern regexp groups");
      if (this.eat("<="))
        unsupported("lookbehind assertions (?<=…) are not supported in URL pattern regexp groups");
      if (this.eat("<!")) {
        unsupported("negative lookbehind assertions (?<!…) are not supported in URL pattern regexp groups");
      }
      if (this.eat("<")) {
        // A named capturing group: captures do not matter to `test`, only its contents do.
        const end = this.source.indexOf(">", this.position);
        if (end === -1) this.malformed("unterminated group name");
        this.position = end + 1;
      } else if (!this.eat(":")) {
        unsupported("inline modifier groups (?flags:…) are not supported in URL pattern regexp groups");
      }
    }
    if (++this.depth > MAX_NESTING)
      unsupported(`groups nested more than ${MAX_NESTING} deep are not supported`);
    const body = this.disjunction();
    this.depth--;
    this.expect(")");
    return body;
  }

  private quantified(item: RegexpNode): RegexpNode {
    let min: number;
    let max: number;
    const code = this.peek();
    if (code === 0x2a /* * */) {
      min = 0;
      max = Number.POSITIVE_INFINITY;
      this.position++;
    } else if (code === 0x2b /* + */) {
      min = 1;
      max = Number.POSITIVE_INFINITY;
      this.position++;
    } else if (code === 0x3f /* ? */) {
      min = 0;
      max = 1;
      this.position++;
    } else if (code === 0x7b /* { */) {
      this.position++;
      min = this.count();
      max = min;
      if (this.eat(",")) max = this.peek() === 0x7d ? Number.POSITIVE_INFINITY : this.count();
      this.expect("}");
      if (max < min) this.malformed("numbers out of order in {} quantifier");
    } else {
      return item;
    }
    // Laziness changes which match is reported, never whether there is one.
    this.eat("?");
    return { kind: "repeat", item, min, max };
  }

  private count(): number {
    const start = this.position;
    while (isDigit(this.peek())) this.position++;
    if (this.position === start) this.malformed("incomplete quantifier");
    const digits = this.source.slice(start, this.position);
    const value = Number(digits);
    if (value > MAX_REPEAT_COUNT) {
      unsupported(`the repetition count ${digits} is above the supported maximum of ${MAX_REPEAT_COUNT}`);
    }
    return value;
  }

  private atomEscape(): RegexpNode {
    const code = this.peek();
    if (code >= 0x31 && code <= 0x39)
      unsupported("backreferences (\\1…\\9) are not supported in URL patterns");
    if (code === 0x6b /* k */)
      unsupported("named backreferences (\\k<name>) are not supported in URL patterns");
    const set = this.setEscape(false);
    if (set !== undefined) return { kind: "set", set };
    const codePoint = this.characterEscape();
    return { kind: "set", set: ranges(codePoint, codePoint) };
  }

  /** `\d \D \s \S \w \W \p{…} \P{…}` (the backslash already consumed), or undefined for other escapes. */
  private setEscape(inClass: boolean): ClassExpr | undefined {
    const code = this.peek();
    switch (code) {
      case 0x64 /* d */:
        this.position++;
        return DIGIT;
      case 0x44 /* D */:
        this.position++;
        return complement(DIGIT);
      case 0x73 /* s */:
        this.position++;
        return SPACE;
      case 0x53 /* S */:
        this.position++;
        return complement(SPACE);
      case 0x77 /* w */:
        this.position++;
        return WORD;
      case 0x57 /* W */:
        this.position++;
        return complement(WORD);
      case 0x70 /* p */:
      case 0x50 /* P */:
        {
          this.position++;
          this.expect("{");
          const end = this.source.indexOf("}", this.position);
          if (end === -1) this.malformed("unterminated property escape");
          const body = this.source.slice(this.position, end);
          this.position = end + 1;
          const set = property(body, code === 0x50);
          if (set === undefined) {
            unsupported(`the property of strings \\p{${body}} is not supported in URL pattern regexp groups`);
          }
          return set;
        }
      case 0x71 /* q */:
        if (inClass)
          unsupported("class string disjunctions \\q{…} are not supported in URL pattern regexp groups");
        return undefined;
      default:
        return undefined;
    }
  }

  /** A CharacterEscape or IdentityEscape (the backslash already consumed), as a code point. */
  private characterEscape(): number {
    const codePoint = this.codePoint();
    switch (codePoint) {
      case 0x66 /* f */:
        return 0x0c;
      case 0x6e /* n */:
        return 0x0a;
      case 0x72 /* r */:
        return 0x0d;
      case 0x74 /* t */:
        return 0x09;
      case 0x76 /* v */:
        return 0x0b;
      case 0x30 /* 0 */:
        return 0;
      case 0x63 /* c */:
        return this.codePoint() % 32;
      case 0x78 /* x */:
        return this.hexDigits(2);
      case 0x75 /* u */:
        return this.unicodeEscape();
      default:
        // Identity escapes: in Unicode mode only syntax characters (and `/`, `-`, the `v` flag's
        // reserved punctuators) may be escaped, and they stand for themselves.
        return codePoint;
    }
  }

  private hexDigits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) {
      const digit = hexValue(this.peek());
      if (digit === -1) this.malformed("invalid hexadecimal escape");
      value = value * 16 + digit;
      this.position++;
    }
    return value;
  }

  /** `\uXXXX`, `\u{X…}`, and a `\uLEAD\uTRAIL` surrogate pair read as one code point (Unicode mode). */
  private unicodeEscape(): number {
    if (this.eat("{")) {
      let value = 0;
      let digits = 0;
      for (let digit = hexValue(this.peek()); digit !== -1; digit = hexValue(this.peek())) {
        value = value * 16 + digit;
        digits++;
        this.position++;
        if (value > 0x10ffff) this.malformed("code point out of range");
      }
      if (digits === 0) this.malformed("invalid unicode escape");
      this.expect("}");
      return value;
    }
    const value = this.hexDigits(4);
    if (value >= 0xd800 && value <= 0xdbff && this.source.startsWith("\\u", this.position)) {
      const saved = this.position;
      this.position += 2;
      if (hexValue(this.peek()) !== -1) {
        const trail = this.hexDigits(4);
        if (trail >= 0xdc00 && trail <= 0xdfff) return (value - 0xd800) * 0x400 + (trail - 0xdc00) + 0x10000;
      }
      this.position = saved;
    }
    return value;
  }

  /**
   * A character class in `v` mode (the `[` already consumed): `[^…]`, unions with ranges, nested
   * classes, and the `&&` / `--` set operations, which cannot be mixed at one level.
   */
  private classBody(): ClassExpr {
    const negated = this.eat("^");
    const contents = this.classContents();
    this.expect("]");
    return negated ? complement(contents) : contents;
  }

  private classContents(): ClassExpr {
    if (this.peek() === 0x5d /* ] */) return ranges();
    const first = this.classOperand();
    for (const [operator, kind] of [
      ["&&", "intersection"],
      ["--", "subtraction"],
    ] as const) {
      if (this.source.startsWith(operator, this.position)) {
        const items = [first.set];
        while (this.eat(operator)) items.push(this.classOperand().set);
        return { kind, items };
      }
    }
    const items: ClassExpr[] = [];
    const singles: number[] = [];
    let operand = first;
    for (;;) {
      if (operand.codePoint !== -1 && this.peek() === 0x2d /* - */) {
        this.position++;
        const to = this.classOperand().codePoint;
        if (to === -1 || to < operand.codePoint) this.malformed("invalid class range");
        singles.push(operand.codePoint, to);
      } else if (operand.codePoint !== -1) {
        singles.push(operand.codePoint, operand.codePoint);
      } else {
        items.push(operand.set);
      }
      if (this.peek() === 0x5d /* ] */ || this.peek() === -1) break;
      operand = this.classOperand();
    }
    if (singles.length > 0) items.unshift(ranges(...singles));
    return items.length === 1 ? items[0]! : { kind: "union", items };
  }

  private classOperand(): ClassOperand {
    const code = this.peek();
    if (code === 0x5b /* [ */) {
      this.position++;
      if (++this.depth > MAX_NESTING)
        unsupported(`classes nested more than ${MAX_NESTING} deep are not supported`);
      const set = this.classBody();
      this.depth--;
      return { set, codePoint: -1 };
    }
    if (code === 0x5c /* \ */) {
      this.position++;
      const set = this.setEscape(true);
      if (set !== undefined) return { set, codePoint: -1 };
      // Inside a class, \b is the backspace character.
      const codePoint = this.eat("b") ? 0x08 : this.characterEscape();
      return { set: ranges(codePoint, codePoint), codePoint };
    }
    const codePoint = this.codePoint();
    return { set: ranges(codePoint, codePoint), codePoint };
  }
}
