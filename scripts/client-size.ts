/**
 * Prints the size of `quicksilver/client` as a browser app ships it: bundled, minified, and
 * minified + gzip (level 9), whole and for an app that imports `subscribe` alone.
 * `npm run size:client`.
 */
import { gzipSync } from "node:zlib";
import { bundleClient } from "./client-bundle.ts";

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB (${bytes} B)`;
for (const [name, only] of [
  ["the whole client", undefined],
  ["subscribe alone", ["subscribe"]],
] as const) {
  const plain = await bundleClient({ minify: false, ...(only === undefined ? {} : { only }) });
  const minified = await bundleClient({ minify: true, ...(only === undefined ? {} : { only }) });
  console.log(`quicksilver/client, ${name}:`);
  console.log(`  bundled:          ${kib(Buffer.byteLength(plain))}`);
  console.log(`  minified:         ${kib(Buffer.byteLength(minified))}`);
  console.log(`  minified + gzip:  ${kib(gzipSync(minified, { level: 9 }).length)}`);
}
