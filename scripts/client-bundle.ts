/**
 * Bundles `quicksilver/client` for the browser, as an application's bundler would: one ES module,
 * from src/client/index.ts, for the `browser` platform (a `node:*` import fails the build). The
 * browser tests load it, and `npm run size:client` reports its size.
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ENTRY = fileURLToPath(new URL("../src/client/index.ts", import.meta.url));

export async function bundleClient(options: { minify: boolean }): Promise<string> {
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: options.minify,
    legalComments: "none",
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}
