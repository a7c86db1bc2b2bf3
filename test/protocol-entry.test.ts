import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { importGraph } from "./helpers/import-graph.ts";

const ENTRY = fileURLToPath(new URL("../src/protocol/index.ts", import.meta.url));

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
