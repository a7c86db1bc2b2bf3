import type { ServerResponse } from "node:http";
import type { StreamSink } from "../hub/stream-sink.ts";

const STREAM_HEADERS = {
  "Content-Type": "text/event-stream",
  // Neither browsers nor proxies may cache or buffer a live stream.
  "Cache-Control": "private, no-cache, no-store, must-revalidate, max-age=0",
  "X-Accel-Buffering": "no",
};

/** A subscriber stream over an HTTP response. */
export function responseSink(res: ServerResponse, headers: Record<string, string>): StreamSink {
  return {
    start(anchor) {
      const head: Record<string, string> = { ...headers, ...STREAM_HEADERS };
      if (anchor !== undefined) head["Mercure-Last-Event-ID"] = anchor;
      res.writeHead(200, head);
    },
    write: (chunk) => res.write(chunk),
    onDrain: (callback) => res.on("drain", callback),
    onClose: (callback) => res.once("close", callback),
    end: () => res.end(),
    destroy: () => res.destroy(),
  };
}
