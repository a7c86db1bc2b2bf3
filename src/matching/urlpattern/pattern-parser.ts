/**
 * The URL Pattern standard's pattern string grammar: "tokenize" and "parse a pattern string"
 * (https://urlpattern.spec.whatwg.org/#tokenizing and #parsing-pattern-strings), plus the small
 * escaping helpers the other algorithms share.
 *
 * Errors are reported as `PatternSyntaxError`. The native `URLPattern` has already accepted every
 * pattern we parse, so an error here means the two disagree; callers refuse the pattern rather
 * than guess.
 */

/** "options" struct of the standard: the delimiter and prefix code points ("" when absent). */
export interface PatternOptions {
  readonly delimiter: string;
  readonly prefix: string;
}

/** "default options": protocol, username, password, port, search, hash and opaque pathnames. */
export const DEFAULT_OPTIONS: PatternOptions = Object.freeze({ delimiter: "", prefix: "" });
/** "hostname options". */
export const HOSTNAME_OPTIONS: PatternOptions = Object.freeze({ delimiter: ".", prefix: "" });
/** "pathname options": used when the protocol component matches a special scheme. */
export const PATHNAME_OPTIONS: PatternOptions = Object.freeze({ delimiter: "/", prefix: "/" });

export type PartType = "fixed-text" | "regexp" | "segment-wildcard" | "full-wildcard";
export type PartModifier = "none" | "optional" | "zero-or-more" | "one-or-more";

export interface Part {
  readonly type: PartType;
  /** The fixed text, or the regexp of a "regexp" part; "" for the two wildcard types. */
  readonly value: string;
  readonly modifier: PartModifier;
  readonly name: string;
  readonly prefix: string;
  readonly suffix: string;
}

/**
 * A pattern string the standard's grammar rejects (the standard throws a TypeError). Internal:
 * `compileUrlPattern` turns it into an `InvalidMatcherError`, so it never reaches a caller.
 */
export class PatternSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PatternSyntaxError";
  }
}

export type EncodingCallback = (value: string) => string;

const identity: EncodingCallback = (value) => value;

/** "full wildcard regexp value". */
export const FULL_WILDCARD_REGEXP_VALUE = ".*";

export type TokenType =
  | "open"
  | "close"
  | "regexp"
  | "name"
  | "char"
  | "escaped-char"
  | "other-modifier"
  | "asterisk"
  | "end"
  | "invalid-char";

export interface Token {
  readonly type: TokenType;
  /** Index, in UTF-16 code units, where the token starts in the input. */
  readonly index: number;
  readonly value: string;
}

/**
 * "strict" throws on a tokenizing error (pattern strings); "lenient" turns the offending code
 * points into an "invalid-char" token (constructor strings, whose components are checked later).
 */
export type TokenizePolicy = "strict" | "lenient";

function codePointLength(codePoint: number): number {
  return codePoint > 0xffff ? 2 : 1;
}

// Name code points: ASCII is by far the common case, so it is answered without a regexp.
const ID_START = /^[\p{ID_Start}$_]$/u;
const ID_CONTINUE = /^[\p{ID_Continue}$\u200c\u200d]$/u;

/** "is a valid name code point". */
export function isValidNameCodePoint(codePoint: number, first: boolean): boolean {
  if (codePoint < 0x80) {
    if (
      (codePoint >= 0x61 && codePoint <= 0x7a) ||
      (codePoint >= 0x41 && codePoint <= 0x5a) ||
      codePoint === 0x24 ||
      codePoint === 0x5f
    ) {
      return true;
    }
    return !first && codePoint >= 0x30 && codePoint <= 0x39;
  }
  return (first ? ID_START : ID_CONTINUE).test(String.fromCodePoint(codePoint));
}

/** "tokenize". */
export function tokenize(input: string, policy: TokenizePolicy = "strict"): Token[] {
  const tokens: Token[] = [];
  const length = input.length;
  let index = 0;
  /** "process a tokenizing error": returns where tokenizing resumes. */
  const error = (next: number, why: string): number => {
    if (policy === "strict") {
      throw new PatternSyntaxError(`${why} at index ${index} of ${JSON.stringify(input)}`);
    }
    tokens.push({ type: "invalid-char", index, value: input.slice(index, next) });
    return next;
  };
  while (index < length) {
    const codePoint = input.codePointAt(index)!;
    const next = index + codePointLength(codePoint);
    const char = input.slice(index, next);
    switch (char) {
      case "*":
        tokens.push({ type: "asterisk", index, value: char });
        index = next;
        continue;
      case "+":
      case "?":
        tokens.push({ type: "other-modifier", index, value: char });
        index = next;
        continue;
      case "{":
        tokens.push({ type: "open", index, value: char });
        index = next;
        continue;
      case "}":
        tokens.push({ type: "close", index, value: char });
        index = next;
        continue;
      case "\\": {
        if (next >= length) {
          index = error(next, "a trailing backslash");
          continue;
        }
        const end = next + codePointLength(input.codePointAt(next)!);
        tokens.push({ type: "escaped-char", index, value: input.slice(next, end) });
        index = end;
        continue;
      }
      case ":": {
        let position = next;
        while (position < length) {
          const nameCodePoint = input.codePointAt(position)!;
          if (!isValidNameCodePoint(nameCodePoint, position === next)) break;
          position += codePointLength(nameCodePoint);
        }
        if (position <= next) {
          index = error(next, "a missing group name");
          continue;
        }
        tokens.push({ type: "name", index, value: input.slice(next, position) });
        index = position;
        continue;
      }
      case "(": {
        const scanned = scanRegexp(input, next);
        if (typeof scanned === "string") {
          index = error(next, scanned);
          continue;
        }
        tokens.push({ type: "regexp", index, value: input.slice(next, scanned - 1) });
        index = scanned;
        continue;
      }
      default:
        tokens.push({ type: "char", index, value: char });
        index = next;
    }
  }
  tokens.push({ type: "end", index, value: "" });
  return tokens;
}

/**
 * The "(" branch of "tokenize": scans a regexp group from `start` (just after the parenthesis),
 * counting parentheses and requiring every nested group to start with "?" (so user regexps hold
 * no capturing group). Returns the index after the closing parenthesis, or why the group is
 * invalid.
 */
function scanRegexp(input: string, start: number): number | string {
  const length = input.length;
  let depth = 1;
  let position = start;
  while (position < length) {
    const code = input.charCodeAt(position);
    if (code > 0x7f) return "a non-ASCII character in a regexp group";
    if (position === start && code === 0x3f /* ? */) return "a regexp group starting with ?";
    if (code === 0x5c /* \ */) {
      if (position === length - 1) return "a trailing backslash in a regexp group";
      if (input.charCodeAt(position + 1) > 0x7f) return "a non-ASCII character in a regexp group";
      position += 2;
      continue;
    }
    if (code === 0x29 /* ) */) {
      depth--;
      if (depth === 0) return position - start === 0 ? "an empty regexp group" : position + 1;
    } else if (code === 0x28 /* ( */) {
      depth++;
      if (position === length - 1) return "an unterminated regexp group";
      if (input.charCodeAt(position + 1) !== 0x3f) return "a capturing group inside a regexp group";
    }
    position++;
  }
  return "an unterminated regexp group";
}

/** "parse a pattern string". */
export function parsePatternString(
  input: string,
  options: PatternOptions,
  encode: EncodingCallback = identity,
): Part[] {
  return new PatternParser(tokenize(input), options, encode, input).parse();
}

const segmentWildcards = new Map<string, string>();

/** "generate a segment wildcard regexp" (memoized: there are three delimiters). */
export function segmentWildcardRegexp(options: PatternOptions): string {
  let regexp = segmentWildcards.get(options.delimiter);
  if (regexp === undefined) {
    regexp = "[^" + escapeRegexpString(options.delimiter) + "]+?";
    segmentWildcards.set(options.delimiter, regexp);
  }
  return regexp;
}

/** "escape a pattern string": makes `value` fixed text in a pattern string. */
export function escapePatternString(value: string): string {
  return value.replace(/[+*?:{}()\\]/g, "\\$&");
}

/** "escape a regexp string". */
export function escapeRegexpString(value: string): string {
  return value.replace(/[.+*?^${}()[\]|/\\]/g, "\\$&");
}

class PatternParser {
  private readonly tokens: Token[];
  private readonly options: PatternOptions;
  private readonly encode: EncodingCallback;
  private readonly input: string;
  private readonly segmentWildcard: string;
  private readonly parts: Part[] = [];
  private readonly names = new Set<string>();
  private pendingFixedValue = "";
  private index = 0;
  private nextNumericName = 0;

  constructor(tokens: Token[], options: PatternOptions, encode: EncodingCallback, input: string) {
    this.tokens = tokens;
    this.options = options;
    this.encode = encode;
    this.input = input;
    this.segmentWildcard = segmentWildcardRegexp(options);
  }

  parse(): Part[] {
    while (this.index < this.tokens.length) {
      const charToken = this.tryConsume("char");
      const nameToken = this.tryConsume("name");
      const regexpOrWildcard = this.tryConsumeRegexpOrWildcard(nameToken);
      if (nameToken !== undefined || regexpOrWildcard !== undefined) {
        let prefix = charToken?.value ?? "";
        // Only the options' prefix code point ("/" in pathnames) binds to a group as its prefix;
        // any other preceding character stays fixed text.
        if (prefix !== "" && prefix !== this.options.prefix) {
          this.pendingFixedValue += prefix;
          prefix = "";
        }
        this.maybeAddPartFromPendingFixedValue();
        const modifier = this.tryConsumeModifier();
        this.addPart(prefix, nameToken, regexpOrWildcard, "", modifier);
        continue;
      }
      const fixedToken = charToken ?? this.tryConsume("escaped-char");
      if (fixedToken !== undefined) {
        this.pendingFixedValue += fixedToken.value;
        continue;
      }
      if (this.tryConsume("open") !== undefined) {
        const prefix = this.consumeText();
        const groupName = this.tryConsume("name");
        const groupRegexp = this.tryConsumeRegexpOrWildcard(groupName);
        const suffix = this.consumeText();
        this.consumeRequired("close");
        const modifier = this.tryConsumeModifier();
        this.addPart(prefix, groupName, groupRegexp, suffix, modifier);
        continue;
      }
      this.maybeAddPartFromPendingFixedValue();
      this.consumeRequired("end");
    }
    return this.parts;
  }

  private tryConsume(type: TokenType): Token | undefined {
    const token = this.tokens[this.index];
    if (token === undefined || token.type !== type) return undefined;
    this.index++;
    return token;
  }

  private tryConsumeModifier(): Token | undefined {
    return this.tryConsume("other-modifier") ?? this.tryConsume("asterisk");
  }

  private tryConsumeRegexpOrWildcard(nameToken: Token | undefined): Token | undefined {
    const token = this.tryConsume("regexp");
    // A "*" right after a name is that name's modifier, not an anonymous wildcard.
    if (nameToken === undefined && token === undefined) return this.tryConsume("asterisk");
    return token;
  }

  private consumeRequired(type: TokenType): Token {
    const token = this.tryConsume(type);
    if (token !== undefined) return token;
    const found = this.tokens[this.index]!;
    throw new PatternSyntaxError(
      `expected ${type} but found ${found.type} at index ${found.index} of ${JSON.stringify(this.input)}`,
    );
  }

  private consumeText(): string {
    let result = "";
    for (;;) {
      const token = this.tryConsume("char") ?? this.tryConsume("escaped-char");
      if (token === undefined) return result;
      result += token.value;
    }
  }

  private maybeAddPartFromPendingFixedValue(): void {
    if (this.pendingFixedValue === "") return;
    const value = this.encode(this.pendingFixedValue);
    this.pendingFixedValue = "";
    this.parts.push({ type: "fixed-text", value, modifier: "none", name: "", prefix: "", suffix: "" });
  }

  /** "add a part". */
  private addPart(
    prefix: string,
    nameToken: Token | undefined,
    regexpOrWildcard: Token | undefined,
    suffix: string,
    modifierToken: Token | undefined,
  ): void {
    const modifier = toModifier(modifierToken?.value);
    if (nameToken === undefined && regexpOrWildcard === undefined && modifier === "none") {
      this.pendingFixedValue += prefix;
      return;
    }
    this.maybeAddPartFromPendingFixedValue();
    if (nameToken === undefined && regexpOrWildcard === undefined) {
      // A "{text}" group with a modifier: optional or repeated fixed text.
      if (prefix === "") return;
      this.parts.push({
        type: "fixed-text",
        value: this.encode(prefix),
        modifier,
        name: "",
        prefix: "",
        suffix: "",
      });
      return;
    }
    let regexpValue: string;
    if (regexpOrWildcard === undefined) regexpValue = this.segmentWildcard;
    else if (regexpOrWildcard.type === "asterisk") regexpValue = FULL_WILDCARD_REGEXP_VALUE;
    else regexpValue = regexpOrWildcard.value;
    let type: PartType = "regexp";
    if (regexpValue === this.segmentWildcard) {
      type = "segment-wildcard";
      regexpValue = "";
    } else if (regexpValue === FULL_WILDCARD_REGEXP_VALUE) {
      type = "full-wildcard";
      regexpValue = "";
    }
    let name = "";
    if (nameToken !== undefined) name = nameToken.value;
    else name = String(this.nextNumericName++);
    if (this.names.has(name)) {
      throw new PatternSyntaxError(
        `duplicate group name ${JSON.stringify(name)} in ${JSON.stringify(this.input)}`,
      );
    }
    this.names.add(name);
    this.parts.push({
      type,
      value: regexpValue,
      modifier,
      name,
      prefix: this.encode(prefix),
      suffix: this.encode(suffix),
    });
  }
}

function toModifier(token: string | undefined): PartModifier {
  switch (token) {
    case "?":
      return "optional";
    case "*":
      return "zero-or-more";
    case "+":
      return "one-or-more";
    default:
      return "none";
  }
}
