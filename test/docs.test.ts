import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import ts from "typescript";
import { renderOptionsTable } from "../src/cli/options-doc.ts";
import { PROBLEMS } from "../src/protocol/problems.ts";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");

describe("the documentation keeps up with the code", () => {
  it("documents every problem code with its status", () => {
    const errors = read("docs/errors.md");
    for (const [code, { status }] of Object.entries(PROBLEMS)) {
      const row = errors.split("\n").find((line) => line.startsWith(`| \`${code}\` |`));
      assert.ok(row, `docs/errors.md has no row for ${code}`);
      assert.ok(row.includes(`| ${status} |`), `docs/errors.md gives ${code} another status than ${status}`);
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
