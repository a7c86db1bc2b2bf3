import { InvalidMatcherError } from "../matcher.ts";

/**
 * The URI Template grammar of RFC 6570, section 2 (levels 1 to 4): a template is a sequence of
 * literal text and `{…}` expressions. Parsing only validates and splits; what an expression can
 * expand to is decided in `compile.ts`.
 *
 * Templates come from untrusted clients, so malformed ones are refused with a stable code and a
 * message naming the offending offset (in UTF-16 code units) rather than read leniently: a
 * template that means something other than what its author thought would silently grant or
 * withhold updates.
 */

/** The expression operators of levels 2 and 3; "" is simple string expansion (level 1). */
export type Operator = "" | "+" | "#" | "." | "/" | ";" | "?" | "&";

export interface VarSpec {
  /** The varname exactly as written (pct-encoded triplets and dots kept). */
  readonly name: string;
  /** The explode modifier `*`. */
  readonly explode: boolean;
  /** The prefix modifier `:n` (1…9999), or undefined. */
  readonly maxLength: number | undefined;
  /** Offset of the varname in the template, for error messages. */
  readonly offset: number;
}

export type TemplatePart =
  | { readonly kind: "literal"; readonly text: string }
  | {
      readonly kind: "expression";
      readonly operator: Operator;
      readonly variables: readonly VarSpec[];
      /** Offset of the opening `{` in the template. */
      readonly offset: number;
    };

const OPERATORS: ReadonlySet<string> = new Set(["+", "#", ".", "/", ";", "?", "&"]);
/** op-reserve: reserved by RFC 6570 for future extensions, with no defined expansion. */
const RESERVED_OPERATORS: ReadonlySet<string> = new Set(["=", ",", "!", "@", "|"]);

/** Largest max-length the grammar allows: `%x31-39 0*3DIGIT`. */
const MAX_LENGTH_LIMIT = 9999;

function syntaxError(template: string, offset: number, why: string): never {
  throw new InvalidMatcherError(
    "uritemplate_syntax",
    `${JSON.stringify(template)} is not a valid URI template: ${why} at offset ${offset}`,
  );
}

function isAlpha(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isHexDigit(code: number): boolean {
  return isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);
}

/** Whether `template` holds a pct-encoded triplet (`%` HEXDIG HEXDIG) at `offset`. */
export function isPctEncodedAt(template: string, offset: number): boolean {
  return (
    template.charCodeAt(offset) === 0x25 &&
    isHexDigit(template.charCodeAt(offset + 1)) &&
    isHexDigit(template.charCodeAt(offset + 2))
  );
}

/**
 * The `literals` rule minus pct-encoded (handled by the caller): any Unicode character except
 * CTL, SP, DQUOTE, "'", "%", "<", ">", "\", "^", "`", "{", "|", "}", and outside ASCII only
 * ucschar and iprivate (which excludes surrogates, noncharacters and the specials block).
 */
function isLiteralCodePoint(code: number): boolean {
  if (code < 0x80) {
    return (
      code === 0x21 ||
      code === 0x23 ||
      code === 0x24 ||
      code === 0x26 ||
      (code >= 0x28 && code <= 0x3b) ||
      code === 0x3d ||
      (code >= 0x3f && code <= 0x5b) ||
      code === 0x5d ||
      code === 0x5f ||
      (code >= 0x61 && code <= 0x7a) ||
      code === 0x7e
    );
  }
  // ucschar
  if (code >= 0xa0 && code <= 0xd7ff) return true;
  if (code >= 0xf900 && code <= 0xfdcf) return true;
  if (code >= 0xfdf0 && code <= 0xffef) return true;
  // %x10000-1FFFD / … / %xD0000-DFFFD, then %xE1000-EFFFD: every plane but its last two code
  // points, plane 14 only from E1000.
  if (code >= 0x10000 && code <= 0xeffff && (code & 0xffff) <= 0xfffd)
    return code < 0xe0000 || code >= 0xe1000;
  // iprivate
  if (code >= 0xe000 && code <= 0xf8ff) return true;
  return (code >= 0xf0000 && code <= 0xffffd) || (code >= 0x100000 && code <= 0x10fffd);
}

/** Describes the character at `offset` for an error message. */
function describeAt(template: string, offset: number): string {
  const code = template.codePointAt(offset)!;
  const printable = code > 0x20 && code !== 0x7f && template.isWellFormed();
  const hex = "U+" + code.toString(16).toUpperCase().padStart(4, "0");
  return printable ? `${JSON.stringify(String.fromCodePoint(code))} (${hex})` : hex;
}

/** Parses `template` into literal and expression parts (adjacent literal text is merged). */
export function parseUriTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literalStart = 0;
  let offset = 0;
  const flushLiteral = () => {
    if (offset > literalStart) parts.push({ kind: "literal", text: template.slice(literalStart, offset) });
  };
  while (offset < template.length) {
    const code = template.codePointAt(offset)!;
    if (code === 0x7b /* { */) {
      flushLiteral();
      offset = parseExpression(template, offset, parts);
      literalStart = offset;
    } else if (code === 0x25 /* % */) {
      if (!isPctEncodedAt(template, offset)) {
        syntaxError(template, offset, `"%" must start a pct-encoded triplet (%XX)`);
      }
      offset += 3;
    } else if (code === 0x7d /* } */) {
      syntaxError(template, offset, `"}" without a matching "{"`);
    } else if (isLiteralCodePoint(code)) {
      offset += code > 0xffff ? 2 : 1;
    } else {
      syntaxError(template, offset, `the character ${describeAt(template, offset)} is not allowed`);
    }
  }
  flushLiteral();
  return parts;
}

/** Parses the expression whose `{` is at `start`, pushes it, and returns the offset after its `}`. */
function parseExpression(template: string, start: number, parts: TemplatePart[]): number {
  const end = template.indexOf("}", start + 1);
  if (end === -1) syntaxError(template, start, `"{" is never closed`);
  let offset = start + 1;
  if (offset === end) syntaxError(template, start, "empty expression {}");
  const first = template[offset]!;
  let operator: Operator = "";
  if (OPERATORS.has(first)) {
    operator = first as Operator;
    offset++;
  } else if (RESERVED_OPERATORS.has(first)) {
    throw new InvalidMatcherError(
      "uritemplate_unsupported",
      `${JSON.stringify(template)}: the operator ${JSON.stringify(first)} at offset ${offset} is reserved by ` +
        "RFC 6570 for future extensions and has no defined expansion",
    );
  }
  const variables: VarSpec[] = [];
  for (;;) {
    offset = parseVarSpec(template, offset, end, variables);
    if (offset === end) break;
    // parseVarSpec stops at the end or at a character it does not know: only "," may follow.
    if (template.charCodeAt(offset) !== 0x2c /* , */) {
      syntaxError(
        template,
        offset,
        `unexpected ${describeAt(template, offset)} in an expression (expected "," or "}")`,
      );
    }
    offset++;
  }
  parts.push({ kind: "expression", operator, variables, offset: start });
  return end + 1;
}

/**
 * varspec = varname [ ":" max-length / "*" ], with varname = varchar *( ["."] varchar ) and
 * varchar = ALPHA / DIGIT / "_" / pct-encoded. Returns the offset after it.
 */
function parseVarSpec(template: string, start: number, end: number, variables: VarSpec[]): number {
  let offset = start;
  let expectVarchar = true; // at the start, and after a "."
  for (;;) {
    const code = template.charCodeAt(offset);
    if (offset < end && (isAlpha(code) || isDigit(code) || code === 0x5f) /* _ */) offset++;
    else if (offset < end && isPctEncodedAt(template, offset) && offset + 3 <= end) offset += 3;
    else if (offset < end && code === 0x2e /* . */ && !expectVarchar) {
      offset++;
      expectVarchar = true;
      continue;
    } else break;
    expectVarchar = false;
  }
  if (offset === start) {
    const what =
      offset === end
        ? "a missing variable name"
        : `${describeAt(template, offset)} instead of a variable name`;
    syntaxError(template, offset, what);
  }
  if (expectVarchar) {
    syntaxError(
      template,
      offset - 1,
      `"." in a variable name must be followed by a letter, digit, "_" or %XX`,
    );
  }
  const name = template.slice(start, offset);
  let explode = false;
  let maxLength: number | undefined;
  const modifier = template.charCodeAt(offset);
  if (offset < end && modifier === 0x2a /* * */) {
    explode = true;
    offset++;
  } else if (offset < end && modifier === 0x3a /* : */) {
    const digitsStart = ++offset;
    while (offset < end && isDigit(template.charCodeAt(offset))) offset++;
    const digits = template.slice(digitsStart, offset);
    if (digits === "" || digits[0] === "0" || digits.length > 4) {
      syntaxError(
        template,
        digitsStart,
        `the prefix length of ${JSON.stringify(name)} must be an integer from 1 to ${MAX_LENGTH_LIMIT}`,
      );
    }
    maxLength = Number(digits);
  }
  variables.push({ name, explode, maxLength, offset: start });
  return offset;
}
