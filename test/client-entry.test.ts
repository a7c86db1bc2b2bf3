import assert from "node:assert/strict";
import { relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { importGraph } from "./helpers/import-graph.ts";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const ENTRY = resolve(SRC, "client/index.ts");
/** Where the SDK's modules may live: the SDK itself and the pure protocol module. */
const ALLOWED = ["client/", "protocol/"];

describe("quicksilver/client", () => {
  const graph = importGraph(ENTRY);

  it("walks the SDK's modules", () => {
    assert.ok(graph.has(resolve(SRC, "client/subscribe.ts")));
    assert.ok(graph.has(resolve(SRC, "protocol/sse-parser.ts")));
  });

  it("imports no node: module and no package, so it runs in a browser", () => {
    for (const [file, specifiers] of graph) {
      const outside = specifiers.filter((specifier) => !specifier.startsWith("."));
      assert.deepEqual(outside, [], `${relative(SRC, file)} imports ${outside.join(", ")}`);
    }
  });

  it("imports only from src/client and src/protocol", () => {
    for (const file of graph.keys()) {
      const path = relative(SRC, file);
      assert.ok(
        ALLOWED.some((prefix) => path.startsWith(prefix)),
        `${path} is reached from the SDK but lies outside ${ALLOWED.join(", ")}`,
      );
    }
  });
});
