/**
 * Prints the size of `quicksilver/client` as a browser app ships it: bundled, minified, and
 * minified + gzip (level 9). `npm run size:client`.
 */
import { gzipSync } from "node:zlib";
import { bundleClient } from "./client-bundle.ts";

const plain = await bundleClient({ minify: false });
const minified = await bundleClient({ minify: true });
const gzipped = gzipSync(minified, { level: 9 });
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB (${bytes} B)`;
console.log(`quicksilver/client, bundled:     ${kib(Buffer.byteLength(plain))}`);
console.log(`minified:                        ${kib(Buffer.byteLength(minified))}`);
console.log(`minified + gzip:                 ${kib(gzipped.length)}`);
