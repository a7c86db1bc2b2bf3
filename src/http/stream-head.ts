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
