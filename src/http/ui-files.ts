import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The kinds of file the page is made of, by extension; any other file in the directory is not
 * served. The names served are those found in the directory at startup: a request's path is
 * looked up among them, never joined to a directory, so no request reaches the file system.
 */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** One file of the page, read into memory. */
export interface UiFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** A strong validator: the digest of the body. */
  readonly etag: string;
}

/** The page's files, by name (`index.html`, `vendor/client.js`). */
export type UiFiles = ReadonlyMap<string, UiFile>;

/**
 * The package's `ui/` directory: two levels above this module, from `src/http/` as from
 * `dist/http/`.
 */
export const UI_DIRECTORY = new URL("../../ui/", import.meta.url);

/**
 * Reads, once, every file of a served kind in `directory` and its subdirectories (none when the
 * directory is missing). Called at startup: the page does not change while the hub runs.
 */
export function loadUiFiles(directory: URL = UI_DIRECTORY): UiFiles {
  const files = new Map<string, UiFile>();
  let names: string[];
  try {
    names = readdirSync(fileURLToPath(directory), { recursive: true, encoding: "utf8" });
  } catch {
    return files;
  }
  for (const found of names) {
    const name = found.split("\\").join("/");
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined) continue;
    let body: Buffer;
    try {
      body = readFileSync(new URL(name, directory));
    } catch {
      continue; // a directory named like a file, or one that vanished
    }
    const digest = createHash("sha256").update(body).digest("base64url").slice(0, 27);
    files.set(name, { body, contentType, etag: `"${digest}"` });
  }
  return files;
}
