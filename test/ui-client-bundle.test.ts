/**
 * ui/vendor/client.js, the client SDK the debug page loads, is committed (the page has no build
 * step): it must be the bundle src/client/ makes today. `npm run build:ui-client` writes it again.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { it } from "node:test";
import { UI_CLIENT_PATH, uiClientBundle } from "../scripts/build-ui-client.ts";

it("ui/vendor/client.js is a fresh bundle of the client", async () => {
  const committed = await readFile(UI_CLIENT_PATH, "utf8");
  const fresh = await uiClientBundle();
  assert.ok(committed === fresh, "ui/vendor/client.js is stale: run npm run build:ui-client and commit it");
});
