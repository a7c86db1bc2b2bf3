import { MERCURE_DETAIL_TYPE } from "../auth/authorization-details.ts";
import type { HttpContext } from "./context.ts";
import type { HttpResponse } from "./exchange.ts";
import { sendJson } from "./respond.ts";

/** OAuth 2.0 Protected Resource Metadata (RFC 9728) for the hub (draft, "Discovery"). */
export function metadataDocument(context: HttpContext): Record<string, unknown> {
  const { options } = context;
  const document: Record<string, unknown> = {
    resource: options.resourceIdentifier,
    authorization_details_types_supported: [MERCURE_DETAIL_TYPE],
    bearer_methods_supported: ["header"],
    mercure_cookie: options.cookieName,
  };
  if (options.authorizationServers.length > 0)
    document.authorization_servers = [...options.authorizationServers];
  // Draft, "Active Subscriptions": hubs supporting the feature SHOULD advertise it.
  if (context.hub.subscriptions !== undefined) document.mercure_subscriptions = true;
  return document;
}

export function metadataRoute(res: HttpResponse, context: HttpContext): void {
  // Public, credential-free information: any origin may read it.
  sendJson(res, 200, metadataDocument(context), {
    "Access-Control-Allow-Origin": "*",
    "Cache-Control": "public, max-age=300",
  });
}
