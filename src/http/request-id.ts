import { randomBytes } from "node:crypto";
import type { HttpRequest, HttpResponse } from "./exchange.ts";

/** The header that carries a request's id, both ways (as node:http names a request's headers). */
export const REQUEST_ID_HEADER = "x-request-id";

/** Its name in answers, as it is usually written. */
export const REQUEST_ID_RESPONSE_HEADER = "X-Request-Id";

/** The longest id taken from a client; a longer one is replaced by one of the hub's. */
export const MAX_REQUEST_ID_LENGTH = 128;

/**
 * What a client's id may hold: enough for UUIDs, hex, base64 and the ids proxies generate, and
 * nothing that could break a log line, a header or a shell command an operator pastes it into.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:+/=-]+$/;

/**
 * Random per process, so that the ids of several processes (workers, nodes of a cluster) never
 * meet; a counter makes the rest. Cheaper than a UUID per request, and as unique for logs.
 */
const BOOT_ID = randomBytes(6).toString("hex");
let counter = 0;

/**
 * Gives the request its id: the client's `X-Request-Id` when it is short and safe, else one of
 * the hub's. The id is echoed on every answer (set on the response now, so that every head written
 * through it carries it; a stream's head is written by its sink, which is given it) and written
 * back into the request's own header, so that every log line about the request reads it from
 * one place, `requestIdOf`.
 */
export function assignRequestId(req: HttpRequest, res: HttpResponse): string {
  const given = req.headers[REQUEST_ID_HEADER];
  const id =
    typeof given === "string" && isSafeRequestId(given) ? given : `${BOOT_ID}-${(++counter).toString(36)}`;
  req.headers[REQUEST_ID_HEADER] = id;
  res.setHeader(REQUEST_ID_RESPONSE_HEADER, id);
  return id;
}

export function isSafeRequestId(value: string): boolean {
  return value.length <= MAX_REQUEST_ID_LENGTH && SAFE_REQUEST_ID.test(value);
}

/** The request's id, once `assignRequestId` gave it one. */
export function requestIdOf(req: HttpRequest): string | undefined {
  const id = req.headers[REQUEST_ID_HEADER];
  return typeof id === "string" ? id : undefined;
}
