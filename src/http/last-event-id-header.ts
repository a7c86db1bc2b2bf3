import { UNDECODABLE_CURSOR } from "../protocol/cursor.ts";
import type { HttpRequest } from "./exchange.ts";
import { headerValues } from "./header-values.ts";
import { decodeUtf8Header } from "./utf8-header.ts";

/**
 * The cursor in the request's `Last-Event-ID` header, or undefined when there is none. An empty
 * header is no cursor (EventSource never sends one): it must not override the query's cursor and
 * replay everything. EventSource sends the id's UTF-8 bytes; bytes that are not UTF-8 name no
 * event, and are the unknown cursor `UNDECODABLE_CURSOR`.
 */
export function lastEventIdHeader(req: HttpRequest): string | undefined {
  const header = headerValues(req, "last-event-id")?.[0];
  if (header === undefined || header === "") return undefined;
  return decodeUtf8Header(header) ?? UNDECODABLE_CURSOR;
}
