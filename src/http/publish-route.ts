import type { IncomingMessage, ServerResponse } from "node:http";
import { canPublish } from "../auth/grants.ts";
import { parsePublishForm } from "../protocol/publish-request.ts";
import { authenticate, insufficientScope, missingToken, sendAuthFailure } from "./authenticate.ts";
import { canAnswer, logDropped } from "./connection-turn.ts";
import type { HttpContext } from "./context.ts";
import { corsHeaders } from "./cors.ts";
import { isFormRequest, readForm } from "./read-form.ts";
import { sendProblem } from "./respond.ts";

/** `data` is bounded by the body size, not by the field limit. */
const UNBOUNDED_FIELDS = new Set(["data"]);

/**
 * POST {hub}: validate the update (limits and content first, so a reserved topic is refused
 * whatever the token), authorize it on every topic, then store and dispatch it. Nothing is
 * dispatched unless every check passed.
 */
export async function publishRoute(
  req: IncomingMessage,
  res: ServerResponse,
  context: HttpContext,
): Promise<void> {
  const { options } = context;
  const cors = corsHeaders(req.headers.origin, options.corsOrigins);
  if (!isFormRequest(req)) {
    sendProblem(res, "unsupported_media_type", "send the update as application/x-www-form-urlencoded", {
      ...cors,
      Connection: "close",
    });
    return;
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
  if (auth.kind === "refused") {
    sendAuthFailure(res, auth.failure, cors);
    return;
  }
  if (auth.kind === "anonymous") {
    const failure = missingToken(context.metadataUrl, "publishing needs an access token");
    sendAuthFailure(res, failure, cors);
    return;
  }
  // A cookie travels with every request the browser makes, including forged cross-site ones
  // (CSRF): a publish it authenticates must come from an allowed origin (draft, "Security").
  if (
    (auth.via === "cookie" || auth.via === "legacy-cookie") &&
    !options.publishOrigins.allows(sourceOrigin(req))
  ) {
    sendProblem(
      res,
      "origin_refused",
      "publishing with a cookie needs an Origin on the publish allowlist",
      cors,
    );
    return;
  }
  const refused = update.topics.find((topic) => !canPublish(auth.grants, topic));
  if (refused !== undefined) {
    const failure = insufficientScope(context.metadataUrl, `the token does not grant publish on ${refused}`);
    sendAuthFailure(res, failure, cors);
    return;
  }

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
  res.writeHead(200, { ...cors, "Content-Type": "text/plain; charset=utf-8", "Content-Length": body.length });
  res.end(body);
}

/** The Origin header, or the origin of the Referer when a browser sent no Origin. */
function sourceOrigin(req: IncomingMessage): string | undefined {
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
