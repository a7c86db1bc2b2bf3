import type { IncomingMessage, ServerResponse } from "node:http";
import type { StreamSink } from "../hub/stream-sink.ts";
import { type HttpRequest, type HttpResponse, isHttp2 } from "./exchange.ts";
import { http1Sink } from "./http1-sink.ts";
import { http2Sink } from "./http2-sink.ts";
import type { StreamSinkOptions } from "./stream-head.ts";

/**
 * The sink a subscriber stream is written to, chosen by the protocol the request came on: an
 * HTTP/2 stream, or the HTTP/1.x socket written directly (the fast path). `headers` are the
 * response's own (CORS); the sink adds the stream's.
 */
export function streamSinkFor(
  req: HttpRequest,
  res: HttpResponse,
  headers: Record<string, string>,
  options: StreamSinkOptions = {},
): StreamSink {
  if (isHttp2(res)) return http2Sink(res, headers, options);
  return http1Sink(req as IncomingMessage, res as ServerResponse, headers, options);
}
