import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
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
});
