import { EARLIEST } from "../protocol/cursor.ts";
import { encodeUtf8Header } from "./utf8-header.ts";

/** What the head of every subscriber stream carries, whichever protocol it goes out on. */
export const STREAM_HEADERS = {
  "Content-Type": "text/event-stream",
  // Neither browsers nor proxies may cache or buffer a live stream.
  "Cache-Control": "private, no-cache, no-store, must-revalidate, max-age=0",
  "X-Accel-Buffering": "no",
} as const;

export interface StreamSinkOptions {
  /** Send the replay anchor as `Last-Event-ID` too, as the legacy dialect did. */
  readonly legacyAnchorHeader?: boolean;
}

/**
 * A stream's head, whichever protocol carries it: the response's own headers (CORS), the stream
 * headers and the replay anchor. The anchor goes as the id's UTF-8 bytes, as EventSource sends it
 * back; an id no header can carry (publishing refuses control characters, but not spaces at its
 * ends) is answered `earliest`: the subscriber may believe it missed updates, never that it missed
 * none when it might have.
 */
export function streamHeaders(
  own: Record<string, string>,
  anchor: string | undefined,
  legacyAnchorHeader: boolean,
): Record<string, string> {
  const head: Record<string, string> = { ...own, ...STREAM_HEADERS };
  if (anchor !== undefined) {
    const value = encodeUtf8Header(anchor) ?? EARLIEST;
    head["Mercure-Last-Event-ID"] = value;
    if (legacyAnchorHeader) head["Last-Event-ID"] = value;
  }
  return head;
}
