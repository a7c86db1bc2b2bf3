/**
 * `quicksilver/fastify`: the hub as a Fastify plugin, and the discovery `Link` header as a hook.
 * Fastify is only a type here. The plugin's routes hand the raw request and response to the hub
 * from their `onRequest` hook, after `reply.hijack()`: Fastify neither parses the publish form
 * nor serializes anything, and stream bytes go out as the hub writes them.
 */
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  onSendHookHandler,
} from "fastify";
import { checkDiscoveryLinkOptions, type DiscoveryLinkOptions, discoveryLinks } from "./discovery-link.ts";
import { createHubHandler, type HubHandler, type HubHandlerOptions, hubPaths } from "./node-http.ts";

export type { DiscoveryLinkOptions } from "./discovery-link.ts";
export type { HubHandler, HubHandlerOptions, HubPaths } from "./node-http.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** The hub the Quicksilver plugin mounted (`fastify.register(mercurePlugin, options)`). */
    readonly mercure: HubHandler;
  }
}

/** The symbols by which Fastify knows a plugin that decorates its parent (what fastify-plugin sets). */
const SKIP_OVERRIDE = Symbol.for("skip-override");
const DISPLAY_NAME = Symbol.for("fastify.display-name");

/**
 * A Fastify plugin: `await fastify.register(mercurePlugin, options)` builds the hub (a bad option
 * fails the registration with `UsageError` or `ConfigError`), routes the hub's paths to it for
 * every method, decorates the instance with it as `fastify.mercure`, and ends its streams when
 * `fastify.close()` begins (`preClose`: open streams would otherwise keep the server from
 * closing). It is not encapsulated: `fastify.mercure` is visible to the whole application.
 */
export const mercurePlugin = Object.assign(
  async function mercurePlugin(fastify: FastifyInstance, options: HubHandlerOptions): Promise<void> {
    const handler = await createHubHandler(options);
    fastify.decorate("mercure", handler);
    fastify.addHook("preClose", () => handler.close());
    const handOver: onRequestHookHandler = (request, reply, done) => {
      // Fastify's router matched a normalized path; the hub routes the raw target.
      if (!handler.owns(request.raw.url ?? "/")) {
        done();
        return;
      }
      // Never calls done: the hub answers, and Fastify's lifecycle stops here.
      reply.hijack();
      handler.handle(request.raw, reply.raw);
    };
    // Runs only for a target the hub does not serve after all.
    const notFound = (_request: FastifyRequest, reply: FastifyReply) => reply.callNotFound();
    const { hub, subscriptions, metadata } = hubPaths(handler.hubUrl);
    for (const url of [hub, metadata, subscriptions, `${subscriptions}/*`]) {
      fastify.all(url, { onRequest: handOver }, notFound);
    }
  },
  { [SKIP_OVERRIDE]: true, [DISPLAY_NAME]: "quicksilver" },
);

/**
 * An `onSend` hook that adds the discovery `Link` header, `<hubUrl>; rel="mercure"` (and the
 * topic's `rel="self"` when `topic` gives one), to the responses of the routes it is added to
 * (`fastify.addHook("onSend", discoveryLinkHook(...))`, in the plugin or route that serves the
 * resources). Links the routes set themselves are kept. Throws `UsageError` at once for a hub URL
 * that is not absolute; a topic that is not a URL fails the response.
 */
export function discoveryLinkHook(options: DiscoveryLinkOptions): onSendHookHandler {
  checkDiscoveryLinkOptions(options);
  return (request, reply, payload, done) => {
    let links: string[];
    try {
      links = discoveryLinks(options, request.url);
    } catch (error) {
      done(error as Error);
      return;
    }
    const own = reply.getHeader("link");
    const existing = own === undefined ? [] : Array.isArray(own) ? own.map(String) : [String(own)];
    reply.header("link", [...existing, ...links]);
    done(null, payload);
  };
}
