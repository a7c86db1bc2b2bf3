#!/usr/bin/env node
// The quicksilver command. In a checkout it runs the TypeScript sources directly (Node 24 strips
// types); an installed package runs the compiled dist/. On an older Node it re-runs itself
// under Node 24 (see scripts/node24.js).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "src", "cli", "main.ts");
const entry = existsSync(source) ? source : join(root, "dist", "cli", "main.js");
const major = Number(process.versions.node.split(".")[0]);

if (major >= 24) {
  const { main } = await import(pathToFileURL(entry).href);
  await main(process.argv.slice(2));
} else {
  const { runWithNode24 } = await import(pathToFileURL(join(root, "scripts", "node24.js")).href);
  runWithNode24([fileURLToPath(import.meta.url), ...process.argv.slice(2)]);
}
