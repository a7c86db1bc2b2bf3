import {
  escapeRegexpString,
  FULL_WILDCARD_REGEXP_VALUE,
  type Part,
  type PartModifier,
  type PatternOptions,
  segmentWildcardRegexp,
} from "./pattern-parser.ts";

export interface RegexpAndNames {
  /** The regular expression source, to be read with the `v` flag (as the standard and Node do). */
  readonly source: string;
  readonly names: readonly string[];
}

/**
 * "generate a regular expression and name list" (https://urlpattern.spec.whatwg.org/#generate-a-regular-expression-and-name-list).
 * The output is byte for byte what the standard builds, so that feeding it to our own engine gives
 * exactly the native semantics.
 */
export function generateRegexpAndNames(parts: readonly Part[], options: PatternOptions): RegexpAndNames {
  let result = "^";
  const names: string[] = [];
  for (const part of parts) {
    if (part.type === "fixed-text") {
      if (part.modifier === "none") result += escapeRegexpString(part.value);
      else result += "(?:" + escapeRegexpString(part.value) + ")" + modifierString(part.modifier);
      continue;
    }
    names.push(part.name);
    let regexpValue = part.value;
    if (part.type === "segment-wildcard") regexpValue = segmentWildcardRegexp(options);
    else if (part.type === "full-wildcard") regexpValue = FULL_WILDCARD_REGEXP_VALUE;
    const modifier = modifierString(part.modifier);
    const single = part.modifier === "none" || part.modifier === "optional";
    if (part.prefix === "" && part.suffix === "") {
      result += single ? "(" + regexpValue + ")" + modifier : "((?:" + regexpValue + ")" + modifier + ")";
      continue;
    }
    const prefix = escapeRegexpString(part.prefix);
    const suffix = escapeRegexpString(part.suffix);
    if (single) {
      result += "(?:" + prefix + "(" + regexpValue + ")" + suffix + ")" + modifier;
      continue;
    }
    // A repeated group with a prefix or suffix: every repetition carries its own suffix and
    // prefix, the whole capture excludes the outer ones.
    result +=
      "(?:" +
      prefix +
      "((?:" +
      regexpValue +
      ")(?:" +
      suffix +
      prefix +
      "(?:" +
      regexpValue +
      "))*)" +
      suffix +
      ")";
    if (part.modifier === "zero-or-more") result += "?";
  }
  result += "$";
  return { source: result, names };
}

/** "convert a modifier to a string". */
function modifierString(modifier: PartModifier): string {
  switch (modifier) {
    case "zero-or-more":
      return "*";
    case "optional":
      return "?";
    case "one-or-more":
      return "+";
    default:
      return "";
  }
}
