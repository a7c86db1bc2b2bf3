import { subscribeRequest } from "../../src/loadtest/subscribe-request.ts";
import type { Target } from "./target.ts";

/**
 * Subscribe and publish for a channel server that takes the topic in the query string: Nchan's
 * `/sub` and `/pub` locations as the harness configures them, and the naive floor, which copies
 * that shape. Subscribing reads like the legacy Mercure dialect (`?topic=`) on `/sub`. The body
 * of a publish is the event's data as is.
 */
export function channelRequests(port: number): Pick<Target, "subscribeRequest" | "publishRequest"> {
  return {
    subscribeRequest: (topic) => subscribeRequest({ port, path: "/sub" }, "legacy", topic),
    publishRequest: (topic, data) => ({
      path: `/pub?topic=${encodeURIComponent(topic)}`,
      headers: { "Content-Type": "text/plain" },
      body: data,
    }),
  };
}
