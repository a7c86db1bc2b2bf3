import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ENTRY = fileURLToPath(new URL("../src/protocol/index.ts", import.meta.url));

/** Every module reachable from `entry` by static or dynamic import, with what each imports. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (graph.has(file)) continue;
    const specifiers = ts
      .preProcessFile(readFileSync(file, "utf8"), true, true)
      .importedFiles.map((imported) => imported.fileName);
    graph.set(file, specifiers);
    for (const specifier of specifiers) {
      if (specifier.startsWith(".")) pending.push(resolve(dirname(file), specifier));
    }
  }
  return graph;
}

describe("quicksilver/protocol", () => {
  it("reaches no node: module, so it runs outside Node", () => {
    const graph = importGraph(ENTRY);
    assert.ok(graph.size > 10, `the walk found the protocol modules (${graph.size})`);
    for (const [file, specifiers] of graph) {
      const node = specifiers.filter((specifier) => specifier.startsWith("node:"));
      assert.deepEqual(node, [], `${file} imports ${node.join(", ")}`);
    }
  });

  it("is a walk that would see a node: import", () => {
    const found = ts.preProcessFile('import { x } from "node:fs";\nawait import("node:os");', true, true);
    assert.deepEqual(
      found.importedFiles.map((imported) => imported.fileName),
      ["node:fs", "node:os"],
    );
  });
});
