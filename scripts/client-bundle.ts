/**
 * Bundles `quicksilver/client` for the browser, as an application's bundler would: one ES module,
 * from src/client/index.ts, for the `browser` platform (a `node:*` import fails the build). The
 * browser tests load it, and `npm run size:client` reports its size.
 */
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ENTRY = fileURLToPath(new URL("../src/client/index.ts", import.meta.url));

/**
 * The client bundled; `only` names the exports an application imports (all of them by default),
 * so that what it does not import is left out, as its bundler would.
 */
export async function bundleClient(options: { minify: boolean; only?: readonly string[] }): Promise<string> {
  const result = await build({
    ...(options.only === undefined
      ? { entryPoints: [ENTRY] }
      : {
          stdin: {
            contents: `export { ${options.only.join(", ")} } from ${JSON.stringify(ENTRY)};`,
            loader: "ts",
            resolveDir: fileURLToPath(new URL(".", import.meta.url)),
          },
        }),
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
