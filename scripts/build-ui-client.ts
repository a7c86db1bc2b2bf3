/**
 * Writes ui/vendor/client.js: the client SDK bundled and minified for the hub's debug page, which
 * loads it as it is (the page has no build step). `test/ui-client-bundle.test.ts` fails when the
 * committed file differs from a fresh bundle, so run this after changing src/client/.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { bundleClient } from "./client-bundle.ts";

/** Where the debug page loads the client from. */
export const UI_CLIENT_PATH = fileURLToPath(new URL("../ui/vendor/client.js", import.meta.url));

/** The file's text: the minified bundle, as `bundleClient` makes it. */
export function uiClientBundle(): Promise<string> {
  return bundleClient({ minify: true });
}

if (import.meta.main) {
  await writeFile(UI_CLIENT_PATH, await uiClientBundle());
  console.log("wrote ui/vendor/client.js");
}
