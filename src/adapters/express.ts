/**
 * `quicksilver/express`: the hub as Express middleware, and the discovery `Link` header on an
 * application's own responses. Express is only a type here: the hub answers on the raw
 * `node:http` request and response, which Express's are.
 */
import type { Server } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { UsageError } from "../server/usage-error.ts";
import { checkDiscoveryLinkOptions, type DiscoveryLinkOptions, discoveryLinks } from "./discovery-link.ts";
import { createHubHandler, type HubHandler, type HubHandlerOptions, type HubPaths } from "./node-http.ts";

export type { DiscoveryLinkOptions } from "./discovery-link.ts";
export type { HubHandler, HubHandlerOptions, HubPaths } from "./node-http.ts";

/** The hub as Express middleware (`app.use(hub)`), with the handle to close it. */
export interface MercureMiddleware extends RequestHandler {
  /** The hub URL subscribers and publishers use. */
  readonly hubUrl: string;
  /** The paths the middleware answers; every other request goes on to the application. */
  readonly paths: HubPaths;
  /** The hub itself, as `quicksilver/node-http` mounts it. */
  readonly handler: HubHandler;
  /** Ends every stream and closes the transport; the server stays up. */
  close(): Promise<void>;
  /** Stops the server (what `app.listen` returned), ends the streams, waits for the connections. */
  shutdown(server: Server): Promise<void>;
}

/**
 * Builds a hub and resolves with the middleware that serves it: `app.use(await mercure(options))`.
 * Asynchronous because the hub checks its options and loads its keys before it serves: a bad
 * option rejects here, at startup, not at the first request. Mount it at the application's root
 * (`app.use(hub)`, no path: the hub URL's path says where it answers) and before any body parser
 * or compression middleware, which would read the publish form or hold back stream bytes.
 * The middleware answers the hub's requests itself (never calling `next`) and passes every other
 * request on untouched.
 */
export async function mercure(options: HubHandlerOptions): Promise<MercureMiddleware> {
  const handler = await createHubHandler(options);
  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    // The request target as it arrived: under app.use("/some/path", ...), Express strips the
    // mount path from req.url, and restores it only for the middleware after this one.
    const target = req.originalUrl ?? req.url;
    if (!handler.owns(target)) {
      next();
      return;
    }
    if (req.readableEnded) {
      next(
        new UsageError("the request body was read before the hub middleware: mount it before body parsers"),
      );
      return;
    }
    req.url = target;
    handler.handle(req, res);
  };
  return Object.assign(middleware, {
    hubUrl: handler.hubUrl,
    paths: handler.paths,
    handler,
    close: () => handler.close(),
    shutdown: (server: Server) => handler.shutdown(server),
  });
}

/**
 * Middleware that adds the discovery `Link` header, `<hubUrl>; rel="mercure"` (and the topic's
 * `rel="self"` when `topic` gives one), to every response that passes through it: mount it before
 * the routes whose resources have updates (`app.use("/books", discoveryLink(...))`). Links the
 * routes set themselves are kept. Throws `UsageError` at once for a hub URL that is not absolute;
 * a topic that is not a URL goes to Express's error handling.
 */
export function discoveryLink(options: DiscoveryLinkOptions): RequestHandler {
  checkDiscoveryLinkOptions(options);
  return (req, res, next) => {
    try {
      for (const link of discoveryLinks(options, req.originalUrl)) res.append("Link", link);
    } catch (error) {
      next(error);
      return;
    }
    next();
  };
}
