import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import ts from "typescript";
import { CONFIG_ERROR_CODES, INVALID_TOKEN_CODES } from "../src/auth/errors.ts";
import { renderOptionsTable } from "../src/cli/options-doc.ts";
import { USAGE_ERROR_CODES } from "../src/cli/usage-error.ts";
import { TRANSPORT_ERROR_CODES } from "../src/hub/transport-error.ts";
import { INVALID_MATCHER_CODES } from "../src/matching/matcher.ts";
import { PROBLEMS } from "../src/protocol/problems.ts";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

/**
 * Every error class the library throws, with every code it can carry. A class that extends
 * QuicksilverError without an entry here fails "every error class is listed", so a new class
 * cannot go undocumented.
 */
const ERROR_CODES: Readonly<Record<string, readonly string[]>> = {
  ProtocolError: Object.keys(PROBLEMS),
  InvalidMatcherError: INVALID_MATCHER_CODES,
  ConfigError: CONFIG_ERROR_CODES,
  InvalidTokenError: INVALID_TOKEN_CODES,
  UsageError: USAGE_ERROR_CODES,
  TransportError: TRANSPORT_ERROR_CODES,
};

/** Error classes that never reach a caller: the code that catches them throws a documented one. */
const INTERNAL_ERRORS: Readonly<Record<string, string>> = {
  PatternSyntaxError: "src/matching/urlpattern/compile.ts rethrows it as InvalidMatcherError",
  FormError: "src/http/read-form.ts rethrows it as ProtocolError",
  WorkerStartError: "src/cli/main.ts ends serve with the first worker's exit code, which said why",
};

const ERRORS_SECTION = "## Errors the library throws";

/** The lines under `heading`, up to the next heading of the same level or above. */
function section(markdown: string, heading: string): string[] {
  const lines = markdown.split("\n");
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `docs/errors.md has no heading "${heading}"`);
  const level = heading.indexOf(" ");
  const end = lines.findIndex(
    (line, index) => index > start && /^#+ /.test(line) && line.indexOf(" ") <= level,
  );
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The first cell of each table row that starts with a code in backticks. */
function codeRows(lines: readonly string[]): string[] {
  return lines.flatMap((line) => /^\| `([^`]+)` \|/.exec(line)?.[1] ?? []);
}

const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** Every `class X extends Y` in the library's sources (tests and benchmarks left out). */
function errorClasses(): Map<string, string> {
  const root = new URL("../src/", import.meta.url);
  const classes = new Map<string, string>();
  for (const path of readdirSync(root, { recursive: true, encoding: "utf8" })) {
    if (!path.endsWith(".ts") || path.endsWith(".test.ts") || path.endsWith(".bench.ts")) continue;
    // The client SDK's errors are its own, under MercureError, documented in docs/client.md.
    if (path.startsWith("client/")) continue;
    const source = readFileSync(new URL(path, root), "utf8");
    for (const [, name, base] of source.matchAll(/\bclass (\w+) extends (\w+)/g)) {
      classes.set(name!, base!);
    }
  }
  return classes;
}

describe("the documentation keeps up with the code", () => {
  it("documents every problem code with its status", () => {
    const errors = read("docs/errors.md");
    for (const [code, { status }] of Object.entries(PROBLEMS)) {
      const row = errors.split("\n").find((line) => line.startsWith(`| \`${code}\` |`));
      assert.ok(row, `docs/errors.md has no row for ${code}`);
      assert.ok(row.includes(`| ${status} |`), `docs/errors.md gives ${code} another status than ${status}`);
    }
  });

  it("documents no problem code that does not exist", () => {
    const problems = read("docs/errors.md").split(ERRORS_SECTION)[0]!;
    for (const code of codeRows(problems.split("\n"))) {
      assert.ok(
        Object.hasOwn(PROBLEMS, code),
        `docs/errors.md has a row for ${code}, which is no problem code`,
      );
    }
  });

  it("lists every error class: each extends QuicksilverError, or never reaches a caller", () => {
    const classes = errorClasses();
    const isError = (name: string): boolean => {
      const base = classes.get(name);
      return base === "Error" || (base !== undefined && isError(base));
    };
    const thrown = [...classes.keys()].filter((name) => classes.get(name) === "QuicksilverError");
    assert.deepEqual(sorted(thrown), sorted(Object.keys(ERROR_CODES)));
    // A subclass of a documented class (HttpRefusal, a ProtocolError with headers) carries its codes.
    const extendsThrown = (name: string): boolean => {
      const base = classes.get(name);
      return base !== undefined && (thrown.includes(base) || extendsThrown(base));
    };
    const others = [...classes.keys()].filter(
      (name) =>
        name !== "QuicksilverError" && isError(name) && !thrown.includes(name) && !extendsThrown(name),
    );
    assert.deepEqual(sorted(others), sorted(Object.keys(INTERNAL_ERRORS)));
  });

  it("documents every error class with exactly its codes", () => {
    const errors = read("docs/errors.md");
    const lines = section(errors, ERRORS_SECTION);
    const firstSubsection = lines.findIndex((line) => line.startsWith("### "));
    const rows = new Map(
      lines.slice(0, firstSubsection < 0 ? undefined : firstSubsection).flatMap((line) => {
        const match = /^\| `(\w+)` \| (.*?) \|/.exec(line);
        return match ? [[match[1]!, match[2]!] as const] : [];
      }),
    );
    assert.deepEqual(sorted(rows.keys()), sorted(Object.keys(ERROR_CODES)));
    for (const [name, codes] of Object.entries(ERROR_CODES)) {
      if (name === "ProtocolError") continue; // its codes are the problem codes, checked above
      const subsection = `### ${name} codes`;
      const documented = lines.includes(subsection)
        ? codeRows(section(errors, subsection))
        : [...rows.get(name)!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
      assert.deepEqual(sorted(documented), sorted(codes), `docs/errors.md: the codes of ${name}`);
    }
  });

  it("lists every serve option as the option table renders it", () => {
    assert.ok(
      read("docs/configuration.md").includes(renderOptionsTable()),
      "regenerate the table: node scripts/node24.js src/cli/options-doc.ts",
    );
  });

  it("documents every export of the library in docs/library.md, and only those", () => {
    const exported = exportsOf(read("src/index.ts"));
    assert.ok(exported.length > 20, `src/index.ts exports ${exported.length} names`);
    // A section per export, or per group of close ones: ### `Hub` or ### `Transport`, `Replay`.
    const documented = read("docs/library.md")
      .split("\n")
      .filter((line) => line.startsWith("### "))
      .flatMap((line) => [...line.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string));
    assert.deepEqual(
      exported.filter((name) => !documented.includes(name)),
      [],
      "exported but not documented in docs/library.md",
    );
    assert.deepEqual(
      documented.filter((name) => !exported.includes(name)),
      [],
      "documented in docs/library.md but not exported",
    );
  });

  it("links the library's page from the README", () => {
    assert.match(read("README.md"), /\(docs\/library\.md\)/);
  });
});

/** The names a module exports; `export *` would hide them, so it is refused. */
function exportsOf(source: string): string[] {
  const file = ts.createSourceFile("index.ts", source, ts.ScriptTarget.Latest);
  const names: string[] = [];
  for (const statement of file.statements) {
    if (!ts.isExportDeclaration(statement)) continue;
    const clause = statement.exportClause;
    assert.ok(clause !== undefined && ts.isNamedExports(clause), "src/index.ts names what it exports");
    names.push(...clause.elements.map((element) => element.name.text));
  }
  return names;
}
