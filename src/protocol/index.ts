/**
 * `quicksilver/protocol`: the pure rules of the Mercure protocol, shared by hubs and clients. No
 * I/O and no `node:*` import anywhere under it (a test walks its imports), so it runs in browsers,
 * Deno, Bun and edge runtimes.
 */
export * from "./accept.ts";
export * from "./characters.ts";
export * from "./cursor.ts";
export * from "./form-parser.ts";
export * from "./problems.ts";
export * from "./publish-request.ts";
export * from "./quicksilver-error.ts";
export * from "./reserved-namespace.ts";
export * from "./sse-encoder.ts";
export * from "./sse-parser.ts";
export * from "./subscribe-request.ts";
export * from "./subscription-resource.ts";
