/**
 * `quicksilver/client`: the Mercure client SDK, for browsers, Node 20+, Deno and Bun. It imports
 * nothing but the pure protocol module (a test walks its imports), and no dependency.
 */

export * from "./discover.ts";
export * from "./errors.ts";
export * from "./publish.ts";
