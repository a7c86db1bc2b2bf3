import { BoundedCache } from "./bounded-cache.ts";

/**
 * Sets of code points for the regular expression engine: character classes, `.`, `\d`, `\w`,
 * `\s`, `\p{…}` and the `v` flag's set operations.
 *
 * A set is kept as a small expression tree (what the source said) and answered two ways: a
 * 128-entry table for ASCII, filled once at compile time, because URL components are ASCII (the URL
 * parser percent-encodes everything else) and the engine asks once per code point; and the tree
 * itself for the rare other code points.
 */
export type ClassExpr =
  | { readonly kind: "ranges"; readonly ranges: readonly number[] }
  | { readonly kind: "property"; readonly body: string; readonly test: (codePoint: number) => boolean }
  | { readonly kind: "union" | "intersection" | "subtraction"; readonly items: readonly ClassExpr[] }
  | { readonly kind: "complement"; readonly item: ClassExpr };

/** Inclusive ranges, as flat [from, to, from, to…] pairs. */
export function ranges(...bounds: number[]): ClassExpr {
  return { kind: "ranges", ranges: bounds };
}

export function complement(item: ClassExpr): ClassExpr {
  return item.kind === "complement" ? item.item : { kind: "complement", item };
}

export const DIGIT = ranges(0x30, 0x39);
export const WORD = ranges(0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a);
// WhiteSpace and LineTerminator of ECMA-262 (what `\s` matches).
// biome-ignore format: one range per line
export const SPACE = ranges(
  0x09, 0x0d,
  0x20, 0x20,
  0xa0, 0xa0,
  0x1680, 0x1680,
  0x2000, 0x200a,
  0x2028, 0x2029,
  0x202f, 0x202f,
  0x205f, 0x205f,
  0x3000, 0x3000,
  0xfeff, 0xfeff,
);
/** `.` without the `s` flag: every code point but the line terminators. */
export const DOT = complement(ranges(0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029));

/** Whether the set holds the code point. */
export function contains(expr: ClassExpr, codePoint: number): boolean {
  switch (expr.kind) {
    case "ranges": {
      const bounds = expr.ranges;
      for (let i = 0; i < bounds.length; i += 2) {
        if (codePoint >= bounds[i]! && codePoint <= bounds[i + 1]!) return true;
      }
      return false;
    }
    case "property":
      return expr.test(codePoint);
    case "union":
      return expr.items.some((item) => contains(item, codePoint));
    case "intersection":
      return expr.items.every((item) => contains(item, codePoint));
    case "subtraction":
      return (
        contains(expr.items[0]!, codePoint) && !expr.items.slice(1).some((item) => contains(item, codePoint))
      );
    case "complement":
      return !contains(expr.item, codePoint);
  }
}

/**
 * `\p{…}` / `\P{…}`. We ship no Unicode tables: membership of one code point is asked to a native
 * regular expression made of that single escape, which is constant-time (no quantifier, nothing to
 * backtrack into). Properties of strings (`\p{RGI_Emoji}`, `v` flag only) match several code points
 * at once and are refused by the caller; `u`-flag validity tells them apart.
 */
export function property(body: string, negated: boolean): ClassExpr | undefined {
  let regexp: RegExp;
  try {
    regexp = new RegExp("^\\p{" + body + "}$", "u");
  } catch {
    return undefined;
  }
  const expr: ClassExpr = {
    kind: "property",
    body,
    test: (codePoint) => regexp.test(String.fromCodePoint(codePoint)),
  };
  return negated ? complement(expr) : expr;
}

/** The single code point the set holds, or -1 when it holds none or several. */
export function singleCodePoint(expr: ClassExpr): number {
  if (expr.kind === "ranges" && expr.ranges.length === 2 && expr.ranges[0] === expr.ranges[1]) {
    return expr.ranges[0]!;
  }
  if (expr.kind === "union" && expr.items.length === 1) return singleCodePoint(expr.items[0]!);
  return -1;
}

/** Whether the set obviously holds every code point (`[^]`, `[\s\S]`-like unions are not detected). */
export function isEverything(expr: ClassExpr): boolean {
  if (expr.kind === "complement") {
    const inner = expr.item;
    if (inner.kind === "ranges") return inner.ranges.length === 0;
    if (inner.kind === "union")
      return inner.items.every((item) => item.kind === "ranges" && item.ranges.length === 0);
  }
  return false;
}

/** A string identifying the set's definition, for caching. */
function classKey(expr: ClassExpr): string {
  switch (expr.kind) {
    case "ranges":
      return expr.ranges.join(",");
    case "property":
      return "\\p{" + expr.body + "}";
    case "complement":
      return "^(" + classKey(expr.item) + ")";
    default:
      return expr.kind[0] + "(" + expr.items.map(classKey).join(")(") + ")";
  }
}

/** Tables are shared: the same few classes (`[^/]`, `[^]`, `.`, `\d`) recur in every pattern. */
const tables = new BoundedCache<string, Uint8Array>(512);

/** The ASCII membership table of the set: entry c is 1 when code point c is in it. */
export function asciiTable(expr: ClassExpr): Uint8Array {
  const key = classKey(expr);
  let table = tables.get(key);
  if (table === undefined) {
    table = new Uint8Array(0x80);
    for (let codePoint = 0; codePoint < 0x80; codePoint++)
      table[codePoint] = contains(expr, codePoint) ? 1 : 0;
    tables.set(key, table);
  }
  return table;
}
