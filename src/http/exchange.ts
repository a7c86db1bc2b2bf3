import type { IncomingMessage, ServerResponse } from "node:http";
import { type Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { Logger } from "../hub/logger.ts";
import { requestIdOf } from "./request-id.ts";

/**
 * A request as the routes see it: from `node:http` (HTTP/1.x) or from the `node:http2`
 * compatibility API. The routes use what both share (method, url, headers, rawHeaders, the body
 * as a stream, writeHead and end); what differs is decided by the functions below and by the
 * stream sink chosen for the response (stream-sink-for.ts).
 */
export type HttpRequest = IncomingMessage | Http2ServerRequest;
export type HttpResponse = ServerResponse | Http2ServerResponse;

/** Whether the response goes out on an HTTP/2 stream. */
export function isHttp2(res: HttpResponse): res is Http2ServerResponse {
  return res instanceof Http2ServerResponse;
}

/** The request target's path, without the query (which may hold a token). */
export function pathOf(req: HttpRequest): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Whether the connection can still carry the request's answer. Checked again, after every wait,
 * before a request changes anything: a client whose connection failed meanwhile (bytes after the
 * request that are not HTTP get a 400 from node:http, which then closes) or that left must not
 * find its request acted on after all. An HTTP/2 answer needs its stream open, whatever the
 * other streams of the session do.
 */
export function canAnswer(req: HttpRequest, res: HttpResponse): boolean {
  if (isHttp2(res)) return !res.stream.closed && !res.stream.destroyed;
  return !(res as ServerResponse).closed && !req.socket.destroyed && req.socket.writable;
}

/** A request the hub did not act on because nothing could carry its answer any more. */
export function logDropped(logger: Logger, req: HttpRequest): void {
  // The path only: a query may hold a token (the legacy authorization parameter).
  logger.debug(
    { requestId: requestIdOf(req), method: req.method, path: pathOf(req) },
    "request dropped: its connection closed before it could be answered",
  );
}
