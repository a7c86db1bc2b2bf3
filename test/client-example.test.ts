/**
 * The client's runnable example (examples/client/follow-a-book.ts), run as a user runs it: it must
 * print what docs/client.md says it prints, and exit 0 once it closed everything.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runProcess } from "./helpers/cli-run.ts";

const EXAMPLE = fileURLToPath(new URL("../examples/client/follow-a-book.ts", import.meta.url));

describe("the client's example", () => {
  it("discovers the hub, subscribes, receives the update published, and exits 0", async () => {
    const { code, stdout, stderr } = await runProcess(process.execPath, [EXAMPLE], {
      PATH: process.env.PATH ?? "",
    });
    // Exiting by itself, not with 13: the app's close kept the process alive until it finished.
    assert.equal(code, 0, stderr);
    const expected = [
      "hub: /.well-known/mercure, topic: http://localhost:3000/books/1",
      "published: a urn:uuid id",
      "received: Les Misérables, 3 in stock",
    ];
    assert.deepEqual(stdout.trimEnd().split("\n"), expected);
    const docs = readFileSync(new URL("../docs/client.md", import.meta.url), "utf8");
    for (const line of expected) assert.ok(docs.includes(line), `docs/client.md shows "${line}"`);
  });
});
