import { canPublish } from "../auth/grants.ts";
import { publishAcknowledged } from "../hub/diagnostics.ts";
import { parsePublishForm } from "../protocol/publish-request.ts";
import { authenticate, insufficientScope, missingToken } from "./authenticate.ts";
import type { HttpContext } from "./context.ts";
import { corsHeaders } from "./cors.ts";
import { canAnswer, type HttpRequest, type HttpResponse, logDropped } from "./exchange.ts";
import { isFormRequest, readForm } from "./read-form.ts";
import { HttpRefusal } from "./refusal.ts";
import { writeHead } from "./respond.ts";

/** `data` is bounded by the body size, not by the field limit. */
const UNBOUNDED_FIELDS = new Set(["data"]);

/**
 * POST {hub}: validate the update (limits and content first, so a reserved topic is refused
 * whatever the token), authorize it on every topic, then store and dispatch it. Nothing is
 * dispatched unless every check passed. Refusals are thrown (HttpRefusal), and answered by the
 * router.
 */
export async function publishRoute(req: HttpRequest, res: HttpResponse, context: HttpContext): Promise<void> {
  const { options } = context;
  const startedAt = performance.now();
  if (!isFormRequest(req)) {
    throw new HttpRefusal("unsupported_media_type", "send the update as application/x-www-form-urlencoded", {
      bodyUnread: true,
    });
  }
  const fields = await readForm(req, options.limits, UNBOUNDED_FIELDS);
  if (fields === undefined) {
    logDropped(context.logger, req);
    return;
  }
  const update = parsePublishForm(fields, {
    hubUrl: options.hubUrl,
    hubPath: context.hubPath,
    maxTopics: options.limits.maxTopics,
  });

  const auth = await authenticate(req, "publisher", context);
  if (auth.kind === "anonymous") {
    throw missingToken(context.metadataUrl, "publishing needs an access token");
  }
  // A cookie travels with every request the browser makes, including forged cross-site ones
  // (CSRF): a publish it authenticates must come from an allowed origin (draft, "Security").
  if (
    (auth.via === "cookie" || auth.via === "legacy-cookie") &&
    !options.publishOrigins.allows(sourceOrigin(req))
  ) {
    throw new HttpRefusal(
      "origin_refused",
      "publishing with a cookie needs an Origin on the publish allowlist",
    );
  }
  const refused = update.topics.find((topic) => !canPublish(auth.grants, topic));
  if (refused !== undefined) {
    throw insufficientScope(context.metadataUrl, `the token does not grant publish on ${refused}`);
  }
  // Counted once the update would be published: a refused one costs the publisher nothing.
  context.publishRate?.take(auth.holder);

  // The last moment before anything changes. The connection may have failed while the body was
  // read or the token verified: bytes after this request that are not HTTP get a 400 from
  // node:http, which then closes. A client that read that 400, or left, must not find the update
  // published after all.
  if (!canAnswer(req, res)) {
    logDropped(context.logger, req);
    return;
  }
  const published = await context.hub.publish(update);
  const body = Buffer.from(published.id);
  const cors = corsHeaders(req.headers.origin, options.corsOrigins);
  writeHead(res, 200, {
    ...cors,
    "Content-Type": "text/plain; charset=utf-8",
    "Content-Length": body.length,
  });
  res.end(body);
  context.requestLog.published(req, published, auth.grants, startedAt);
  if (publishAcknowledged.hasSubscribers) {
    publishAcknowledged.publish({ id: published.id, durationMs: performance.now() - startedAt });
  }
}

/** The Origin header, or the origin of the Referer when a browser sent no Origin. */
function sourceOrigin(req: HttpRequest): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined) return origin;
  const referer = req.headers.referer;
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return undefined;
  }
}
