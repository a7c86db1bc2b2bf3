import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/**
 * The files of the hub's web page, by the name they are served under: the only names ever served.
 * A request's path is looked up among them, never joined to a directory, so no request reaches
 * the file system.
 */
const ALLOWED: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "vendor/client.js": "text/javascript; charset=utf-8",
  "favicon.svg": "image/svg+xml",
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
 * Reads, once, every allowed file present in `directory`; a file missing is left out (served as
 * not found). Called at startup: the page does not change while the hub runs.
 */
export function loadUiFiles(directory: URL = UI_DIRECTORY): UiFiles {
  const files = new Map<string, UiFile>();
  for (const [name, contentType] of Object.entries(ALLOWED)) {
    let body: Buffer;
    try {
      body = readFileSync(new URL(name, directory));
    } catch {
      continue;
    }
    const digest = createHash("sha256").update(body).digest("base64url").slice(0, 27);
    files.set(name, { body, contentType, etag: `"${digest}"` });
  }
  return files;
}
