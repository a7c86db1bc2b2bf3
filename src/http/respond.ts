import type { ServerResponse } from "node:http";
import { PROBLEMS, type ProblemCode } from "../protocol/problems.ts";
import { isStreaming } from "./response-sink.ts";

/**
 * Answers with an RFC 9457 problem document carrying our stable `code`. The OAuth error of a
 * 401/403 travels in WWW-Authenticate, passed in `headers`, never in the body.
 */
export function sendProblem(
  res: ServerResponse,
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
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/problem+json",
    "Content-Length": body.length,
    "Cache-Control": "no-store",
  });
  res.end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = utf8Body(JSON.stringify(value));
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json",
    "Content-Length": body.length,
  });
  res.end(body);
}

/**
 * The body as bytes. Given a string, node:http writes the head in the body's encoding, UTF-8, so
 * a header holding UTF-8 bytes (an id beyond ASCII, see utf8-header.ts) would be encoded twice;
 * given a buffer, it writes the head one byte per character, as it should.
 */
function utf8Body(text: string): Buffer {
  return Buffer.from(text, "utf8");
}
