import { authenticate, missingToken } from "./authenticate.ts";
import type { HttpContext } from "./context.ts";
import type { HttpRequest, HttpResponse } from "./exchange.ts";
import type { UiOptions } from "./options.ts";
import { HttpRefusal } from "./refusal.ts";
import { sendJson } from "./respond.ts";

/** What `GET {hub path}/ui/status` answers: the hub at a glance, from counts it keeps anyway. */
export interface UiStatus {
  readonly version: string;
  /** The dialects the hub speaks: `draft-08`, and `legacy` when it is on. */
  readonly dialects: readonly string[];
  /** The kind of transport: `memory`, `sqlite`, `redis`, `none`, or `custom`. */
  readonly transport: string;
  /** Updates history keeps now; absent when the transport does not count them. */
  readonly historySize?: number;
  /** Subscriber streams open now. */
  readonly subscribers: number;
  /** Updates offered to streams since the hub started. */
  readonly deliveries: number;
  /** Whether active subscriptions (and the subscription API) are on. */
  readonly subscriptions: boolean;
  readonly hubUrl: string;
  /** Whether the hub runs in development mode (and so mints development tokens for the page). */
  readonly dev: boolean;
}

/**
 * The page's status. Outside development mode it takes a valid token of any configured issuer,
 * publisher's or subscriber's, in the Authorization header or the hub's cookie; nothing it
 * reports walks the streams.
 */
export async function uiStatusRoute(
  req: HttpRequest,
  res: HttpResponse,
  ui: UiOptions,
  context: HttpContext,
): Promise<void> {
  if (!ui.dev) await requireToken(req, context);
  const { hub, options } = context;
  const historySize = ui.historySize?.();
  const status: UiStatus = {
    version: ui.version,
    dialects: options.legacy ? ["draft-08", "legacy"] : ["draft-08"],
    transport: ui.transport,
    ...(historySize === undefined ? {} : { historySize }),
    subscribers: hub.connectionCount,
    deliveries: hub.deliveries,
    subscriptions: hub.subscriptions !== undefined,
    hubUrl: options.hubUrl,
    dev: ui.dev,
  };
  sendJson(res, 200, status, {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  });
}

/** A subscriber's token, or else a publisher's: either shows the holder belongs to the hub. */
async function requireToken(req: HttpRequest, context: HttpContext): Promise<void> {
  let auth: Awaited<ReturnType<typeof authenticate>>;
  try {
    auth = await authenticate(req, "subscriber", context);
  } catch (error) {
    if (!(error instanceof HttpRefusal) || error.code !== "token_invalid") throw error;
    auth = await authenticate(req, "publisher", context);
  }
  if (auth.kind === "anonymous")
    throw missingToken(context.metadataUrl, "the hub's status needs an access token");
}
