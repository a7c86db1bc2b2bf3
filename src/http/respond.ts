import { PROBLEMS, type ProblemCode } from "../protocol/problems.ts";
import type { HttpResponse } from "./exchange.ts";
import { isStreaming } from "./http1-sink.ts";

/**
 * Answers with an RFC 9457 problem document carrying our stable `code`. The OAuth error of a
 * 401/403 travels in WWW-Authenticate, passed in `headers`, never in the body. A response whose
 * stream has started cannot be answered again: its connection (HTTP/1.1) or stream (HTTP/2) is
 * dropped instead, so that the client sees a cut stream rather than one that ended cleanly.
 */
export function sendProblem(
  res: HttpResponse,
  code: ProblemCode,
  detail: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || isStreaming(res)) {
    res.destroy();
    return;
  }
  const { status, title } = PROBLEMS[code];
  const body = utf8Body(
    JSON.stringify({ type: `urn:quicksilver:problem:${code}`, title, status, detail, code }),
  );
  writeHead(res, status, {
    ...headers,
    "Content-Type": "application/problem+json",
    "Content-Length": body.length,
    "Cache-Control": "no-store",
  });
  res.end(body);
}

export function sendJson(
  res: HttpResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = utf8Body(JSON.stringify(value));
  writeHead(res, status, {
    ...headers,
    "Content-Type": "application/json",
    "Content-Length": body.length,
  });
  res.end(body);
}

/**
 * `res.writeHead` on either protocol: their overloads differ, so TypeScript cannot call it on the
 * union, while the call itself is the same. Header names may be in any case (HTTP/2 lowercases them).
 */
export function writeHead(res: HttpResponse, status: number, headers: Record<string, string | number>): void {
  (res as { writeHead(status: number, headers: Record<string, string | number>): unknown }).writeHead(
    status,
    headers,
  );
}

/**
 * The body as bytes. Given a string, node:http writes the head in the body's encoding, UTF-8, so
 * a header holding UTF-8 bytes (an id beyond ASCII, see utf8-header.ts) would be encoded twice;
 * given a buffer, it writes the head one byte per character, as it should.
 */
function utf8Body(text: string): Buffer {
  return Buffer.from(text, "utf8");
}
