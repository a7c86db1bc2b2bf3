import type { ServerResponse } from "node:http";
import type { StreamSink } from "../hub/stream-sink.ts";

const STREAM_HEADERS = {
  "Content-Type": "text/event-stream",
  // Neither browsers nor proxies may cache or buffer a live stream.
  "Cache-Control": "private, no-cache, no-store, must-revalidate, max-age=0",
  "X-Accel-Buffering": "no",
};

export interface ResponseSinkOptions {
  /** Send the replay anchor as `Last-Event-ID` too, as the legacy dialect did. */
  readonly legacyAnchorHeader?: boolean;
}

/** A subscriber stream over an HTTP response. */
export function responseSink(
  res: ServerResponse,
  headers: Record<string, string>,
  options: ResponseSinkOptions = {},
): StreamSink {
  return {
    start(anchor) {
      const head: Record<string, string> = { ...headers, ...STREAM_HEADERS };
      if (anchor !== undefined) {
        head["Mercure-Last-Event-ID"] = anchor;
        if (options.legacyAnchorHeader === true) head["Last-Event-ID"] = anchor;
      }
      res.writeHead(200, head);
    },
    write: (chunk) => res.write(chunk),
    onDrain: (callback) => res.on("drain", callback),
    // A response that already closed will not emit 'close' again: call back anyway (after the
    // caller has finished registering the stream), or the stream would outlive its client.
    onClose: (callback) => {
      if (res.closed) queueMicrotask(callback);
      else res.once("close", callback);
    },
    end: () => res.end(),
    destroy: () => res.destroy(),
  };
}
