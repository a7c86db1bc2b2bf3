import { InvalidMatcherError } from "../matcher.ts";
import { BoundedCache } from "../urlpattern/bounded-cache.ts";
import { STEP_BUDGET } from "../urlpattern/compile.ts";
import { escapeRegexpString } from "../urlpattern/pattern-parser.ts";
import {
  BUDGET_EXHAUSTED,
  compileRegexp,
  MAX_PROGRAM_SIZE,
  type RegexpProgram,
} from "../urlpattern/regexp-engine.ts";
import { MAX_REPEAT_COUNT } from "../urlpattern/regexp-parser.ts";
import { type Operator, parseUriTemplate, type TemplatePart, type VarSpec } from "./parse.ts";

/**
 * Topic matching against RFC 6570 URI Templates (the legacy dialect's topic selectors): a topic
 * matches when some expansion of the template (section 3, levels 1 to 4) could produce exactly it.
 *
 * Each template is compiled to a regular expression describing every possible expansion, run on
 * the project's linear-time engine (`regexp-engine.ts`) — never on V8's backtracking RegExp:
 * templates come from untrusted subscribers, and `{a}{b}{c}{d}{e}` against a long non-matching
 * topic would take V8 exponential time. A template with no expression is a plain string compare.
 *
 * What an expansion can contain (section 3.2.1 and appendix A): values are encoded so that only
 * unreserved characters (or, for `+` and `#`, unreserved and reserved ones) appear raw, and
 * everything else as pct-encoded triplets; undefined variables are skipped with their separator;
 * list and associative array values are joined with "," (or the operator's separator when
 * exploded); the named operators `;`, `?`, `&` emit `name=value` (`;name` alone, `name=` for
 * `?`/`&`, when the value is empty). Deliberate leniencies, none of which lets a raw character
 * that the RFC would encode through:
 * - any pct-encoded triplet is accepted where an encoded character may appear, in either case,
 *   even if it encodes an unreserved character or is not valid UTF-8;
 * - for a prefix `:n`, a triplet followed by up to three continuation triplets (`%80`–`%BF`)
 *   counts as one character, so `{x:1}` accepts the encoding of "é", and under `+`/`#` a triplet
 *   passed through from the value also counts as one;
 * - exploded associative arrays under `;`, `?`, `&` use their keys as names: any encoded key is
 *   accepted where the variable's name would be. Keys are taken to be non-empty, like varnames,
 *   so that `?=x` or a bare `;` do not match.
 * A literal matches itself, and also its RFC expansion: a non-ASCII literal character is
 * pct-encoded (UTF-8, uppercase hex) by an expansion (section 3.1), so both forms are accepted.
 */
export interface UriTemplateProgram {
  test(topic: string): boolean;
}

/** How an operator expands its variables (RFC 6570, appendix A table). */
interface OperatorRules {
  /** Emitted before the first defined variable. */
  readonly first: string;
  /** Between defined variables, and between the members of an exploded value. */
  readonly separator: string;
  /** Whether values are emitted as `name=value`. */
  readonly named: boolean;
  /** Emitted after the name when the value is empty: "" (`;name`) or "=" (`name=`). */
  readonly ifEmpty: string;
  /** Whether reserved characters may appear unencoded (`+` and `#`). */
  readonly allowReserved: boolean;
}

const RULES: Record<Operator, OperatorRules> = {
  "": { first: "", separator: ",", named: false, ifEmpty: "", allowReserved: false },
  "+": { first: "", separator: ",", named: false, ifEmpty: "", allowReserved: true },
  "#": { first: "#", separator: ",", named: false, ifEmpty: "", allowReserved: true },
  ".": { first: ".", separator: ".", named: false, ifEmpty: "", allowReserved: false },
  "/": { first: "/", separator: "/", named: false, ifEmpty: "", allowReserved: false },
  ";": { first: ";", separator: ";", named: true, ifEmpty: "", allowReserved: false },
  "?": { first: "?", separator: "&", named: true, ifEmpty: "=", allowReserved: false },
  "&": { first: "&", separator: "&", named: true, ifEmpty: "=", allowReserved: false },
};

/**
 * Characters written escaped inside a `v`-mode class: there, ClassSetSyntaxCharacter
 * (`( ) [ ] { } / - \ |`) must be escaped, and ClassSetReservedPunctuator (`& - ! # % , : ; < = > @
 * ` ~`) and SyntaxCharacter may be; doubled punctuators such as `&&` or `--` would be set
 * operations.
 */
const CLASS_SPECIAL = /[\^$\\.*+?()[\]{}|/\-&!#%,:;<=>@`~]/g;

/** A class of ASCII letters, digits and `extra` (punctuation), in `v` syntax. */
function charClass(extra: string): string {
  return "[A-Za-z0-9" + extra.replace(CLASS_SPECIAL, "\\$&") + "]";
}

const UNRESERVED = "-._~";
const RESERVED = ":/?#[]@!$&'()*+,;=";
const HEX = "[0-9A-Fa-f]";
const PCT_ENCODED = "%" + HEX + HEX;

/** One character of an encoded value: unreserved, or a pct-encoded triplet. */
const U_CHAR = `(?:${charClass(UNRESERVED)}|${PCT_ENCODED})`;
/** One character of a value with reserved characters allowed (`+`, `#`); includes ",". */
const UR_CHAR = `(?:${charClass(UNRESERVED + RESERVED)}|${PCT_ENCODED})`;
/** One character of a list or associative array joined with ",", without reserved characters. */
const U_LIST_CHAR = `(?:${charClass(UNRESERVED + ",")}|${PCT_ENCODED})`;

/** One character of the value before encoding, for prefixes: a character is 1 to 4 UTF-8 octets. */
function prefixChar(allowReserved: boolean): string {
  const raw = charClass(allowReserved ? UNRESERVED + RESERVED : UNRESERVED);
  return `(?:${raw}|${PCT_ENCODED}(?:%[89ABab]${HEX}){0,3})`;
}

/** Templates compiled recently: subscribers tend to share a few templates. */
const cache = new BoundedCache<string, CompiledUriTemplate>(1024);

/**
 * Compiles `template`. Throws `InvalidMatcherError` with `uritemplate_syntax` when it is not an
 * RFC 6570 template, and `uritemplate_unsupported` for reserved operators, prefixes above
 * MAX_REPEAT_COUNT and templates whose program would exceed the engine's size limit.
 */
export function compileUriTemplate(template: string): CompiledUriTemplate {
  let compiled = cache.get(template);
  if (compiled === undefined) {
    compiled = new CompiledUriTemplate(template, parseUriTemplate(template));
    cache.set(template, compiled);
  }
  return compiled;
}

/** The regular expression (engine syntax) matching every expansion of the parsed template. */
function templateRegexpSource(template: string, parts: readonly TemplatePart[]): string {
  let source = "^";
  for (const part of parts) {
    source +=
      part.kind === "literal"
        ? literalSource(part.text)
        : expressionSource(template, part.operator, part.variables);
  }
  return source + "$";
}

function literalSource(text: string): string {
  let source = "";
  for (const char of text) {
    // ASCII (including the characters of pct-encoded triplets) is copied as is; other characters
    // are also accepted in the pct-encoded form an expansion gives them.
    source +=
      char.charCodeAt(0) < 0x80 ? escapeRegexpString(char) : `(?:${char}|${encodeURIComponent(char)})`;
  }
  return source;
}

/**
 * An expression expands to "" when all its variables are undefined, else to `first` followed by
 * the expansions of the defined ones joined by the separator. "Any non-empty ordered subset" is
 * built as S1 = E1, Si = (?:S(i-1)(?:sep Ei)?|Ei): linear in the number of variables, where
 * listing which variable comes first would be quadratic.
 */
function expressionSource(template: string, operator: Operator, variables: readonly VarSpec[]): string {
  const rules = RULES[operator];
  const separator = escapeRegexpString(rules.separator);
  let subsets = "";
  variables.forEach((variable, index) => {
    const expansion = varSpecSource(template, variable, rules);
    subsets = index === 0 ? expansion : `(?:${subsets}(?:${separator}${expansion})?|${expansion})`;
  });
  return `(?:${escapeRegexpString(rules.first)}(?:${subsets}))?`;
}

/** The expansions of one defined variable (appendix A), whatever its type: string, list or map. */
function varSpecSource(template: string, variable: VarSpec, rules: OperatorRules): string {
  const name = escapeRegexpString(variable.name);
  const n = variable.maxLength;
  if (n !== undefined) {
    // A prefix applies to strings only (section 2.4.1): at most n characters of the value.
    if (n > MAX_REPEAT_COUNT) {
      throw new InvalidMatcherError(
        "uritemplate_unsupported",
        `${JSON.stringify(template)}: the prefix length ${n} of ${JSON.stringify(variable.name)} at offset ` +
          `${variable.offset} is above the supported maximum of ${MAX_REPEAT_COUNT}`,
      );
    }
    const char = prefixChar(rules.allowReserved);
    if (!rules.named) return `${char}{0,${n}}`;
    // An empty value gives `;name` or `name=`; a non-empty one keeps at least one character.
    return rules.ifEmpty === "" ? `${name}(?:=${char}{1,${n}})?` : `${name}=${char}{0,${n}}`;
  }
  if (variable.explode) {
    if (!rules.named) {
      // Reserved expansion allows "," and "=" anyway: members and `key=value` pairs are any text.
      if (rules.allowReserved) return `${UR_CHAR}*`;
      // List members, or the `key=value` pairs of an associative array, joined by the separator.
      const member = `${U_CHAR}*(?:=${U_CHAR}*)?`;
      return `${member}(?:${escapeRegexpString(rules.separator)}${member})*`;
    }
    // `name=value` per member; an exploded associative array names each member with its key, so
    // any encoded key is accepted in the name's place.
    const key = `${U_CHAR}+`;
    const member = rules.ifEmpty === "" ? `${key}(?:=${U_CHAR}+)?` : `${key}=${U_CHAR}*`;
    return `${member}(?:${escapeRegexpString(rules.separator)}${member})*`;
  }
  // A string, or a list or associative array joined by ",".
  const char = rules.allowReserved ? UR_CHAR : U_LIST_CHAR;
  if (!rules.named) return `${char}*`;
  return rules.ifEmpty === "" ? `${name}(?:=${char}+)?` : `${name}=${char}*`;
}

/** A compiled template. Besides `test`, it exposes what tests and diagnostics need. */
export class CompiledUriTemplate implements UriTemplateProgram {
  readonly template: string;
  /** The engine's regular expression, or undefined when the template is plain ASCII text. */
  readonly source: string | undefined;
  /** Engine steps taken by the last `test` (0 when it needed no program). */
  lastSteps = 0;
  /** Whether the last `test` answered false because it ran out of its step budget. */
  budgetExhausted = false;
  private readonly program: RegexpProgram | undefined;

  constructor(template: string, parts: readonly TemplatePart[]) {
    this.template = template;
    // Plain ASCII text can only expand to itself: `test` compares strings.
    const plain = parts.every((part) => part.kind === "literal" && /^[\x21-\x7e]*$/.test(part.text));
    this.source = plain ? undefined : templateRegexpSource(template, parts);
    this.program = this.source === undefined ? undefined : compileProgram(template, this.source);
  }

  /** Number of engine instructions (0 for plain text). */
  get programSize(): number {
    return this.program?.size ?? 0;
  }

  test(topic: string): boolean {
    this.lastSteps = 0;
    this.budgetExhausted = false;
    // The old hub's rule: a selector equal to the template itself matches too, so that a token
    // granting `https://example.com/books/{id}` covers a subscription to that same selector.
    if (topic === this.template) return true;
    if (this.program === undefined) return false;
    // The engine is linear, but the budget still caps topic length × program size; an exhausted
    // budget means "no match", as for URL patterns.
    const result = this.program.run(topic, STEP_BUDGET);
    this.lastSteps = this.program.steps;
    this.budgetExhausted = result === BUDGET_EXHAUSTED;
    return result === 1;
  }
}

function compileProgram(template: string, source: string): RegexpProgram {
  try {
    return compileRegexp(source);
  } catch (error) {
    // The engine reports its limits (program size, nesting depth) as URL pattern errors.
    if (error instanceof InvalidMatcherError && error.code === "urlpattern_unsupported") {
      throw new InvalidMatcherError(
        "uritemplate_unsupported",
        `${JSON.stringify(template)} is too large to match: its program would exceed ${MAX_PROGRAM_SIZE} ` +
          "instructions or nest too deeply; use fewer expressions, fewer variables or shorter prefixes (:n)",
      );
    }
    throw error;
  }
}
