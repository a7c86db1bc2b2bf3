/**
 * `quicksilver/hono`: the hub beside Hono routes on Node (`@hono/node-server`), and the discovery
 * `Link` header as Hono middleware. The hub answers on the raw `node:http` request and response
 * that the Node adapter passes in `c.env` (`incoming`, `outgoing`), then tells the adapter that the
 * response is sent (`RESPONSE_ALREADY_SENT`), so that Hono writes nothing after it.
 */
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import type { MiddlewareHandler } from "hono";
import { checkDiscoveryLinkOptions, type DiscoveryLinkOptions, discoveryLinks } from "./discovery-link.ts";
import type { HubHandler } from "./node-http.ts";

export type { DiscoveryLinkOptions } from "./discovery-link.ts";
export { createHubHandler, type HubHandler, type HubHandlerOptions, type HubPaths } from "./node-http.ts";

/**
 * Hono middleware that hands the hub's requests to `handler` (from `createHubHandler`) and passes
 * every other one on: `app.use(mercure(handler))`, before the routes. Only on `@hono/node-server`
 * (`serve({ fetch: app.fetch })`), whose `c.env` carries the raw request and response; elsewhere a
 * hub request is answered 500 with a message saying so. Put it before any middleware that reads
 * the body or compresses.
 */
export function mercure(handler: HubHandler): MiddlewareHandler<{ Bindings: HttpBindings }> {
  return async (c, next) => {
    const { incoming, outgoing } = c.env ?? {};
    if (incoming === undefined || outgoing === undefined) {
      if (!handler.owns(new URL(c.req.url).pathname)) return next();
      return c.text("the Mercure hub needs @hono/node-server: c.env.incoming is missing", 500);
    }
    // Decided on the raw request target, as the hub routes it (Hono's URL is normalized).
    if (!handler.handle(incoming, outgoing)) return next();
    return RESPONSE_ALREADY_SENT;
  };
}

/**
 * Hono middleware that adds the discovery `Link` header, `<hubUrl>; rel="mercure"` (and the
 * topic's `rel="self"` when `topic` gives one), to the responses of the routes after it. Throws
 * `UsageError` at once for a hub URL that is not absolute.
 */
export function discoveryLink(options: DiscoveryLinkOptions): MiddlewareHandler {
  checkDiscoveryLinkOptions(options);
  return async (c, next) => {
    await next();
    // A response the hub sent itself is not Hono's to change (and the marker is shared).
    if (c.res === RESPONSE_ALREADY_SENT) return;
    const url = new URL(c.req.url);
    for (const link of discoveryLinks(options, url.pathname + url.search)) {
      c.res.headers.append("Link", link);
    }
  };
}
