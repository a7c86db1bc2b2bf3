import type { Target } from "./target.ts";

/**
 * Subscribe and publish for a channel server that takes the topic in the query string: Nchan's
 * `/sub` and `/pub` locations as the harness configures them, and the naive floor, which copies
 * that shape. The body of a publish is the event's data as is.
 */
export function channelRequests(port: number): Pick<Target, "subscribeRequest" | "publishRequest"> {
  return {
    subscribeRequest: (topic) =>
      `GET /sub?topic=${encodeURIComponent(topic)} HTTP/1.1\r\n` +
      `Host: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
    publishRequest: (topic, data) => ({
      path: `/pub?topic=${encodeURIComponent(topic)}`,
      headers: { "Content-Type": "text/plain" },
      body: data,
    }),
  };
}
