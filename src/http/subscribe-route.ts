import type { IncomingMessage, ServerResponse } from "node:http";
import { compileMatcher } from "../matching/compile.ts";
import { InvalidMatcherError, type TopicMatcher } from "../matching/matcher.ts";
import { ProtocolError } from "../protocol/problems.ts";
import { parseSubscribeParameters, type RequestedMatcher } from "../protocol/subscribe-request.ts";
import { authenticate, missingToken } from "./authenticate.ts";
import type { HttpContext } from "./context.ts";
import { corsHeaders } from "./cors.ts";
import { isFormRequest, readForm } from "./read-form.ts";
import { sendProblem } from "./respond.ts";
import { responseSink } from "./response-sink.ts";

const NOTHING_UNBOUNDED = new Set<string>();

/**
 * GET (or QUERY) {hub}: validate the matchers, authenticate, then hand the stream to the hub.
 * With QUERY the body's form parameters are added to the query's (the query's come first, so
 * its `last_event_id` wins).
 */
export async function subscribeRoute(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  context: HttpContext,
): Promise<void> {
  const { options, hub } = context;
  const cors = corsHeaders(req.headers.origin, options.corsOrigins);
  const pairs: [string, string][] = [...url.searchParams];
  if (req.method === "QUERY" && isFormRequest(req)) {
    pairs.push(...(await readForm(req, options.limits, NOTHING_UNBOUNDED)));
  }
  const parameters = parseSubscribeParameters(pairs, { maxMatchers: options.limits.maxMatchers });
  const matchers = parameters.matchers.map((requested) => compile(requested, context));

  const auth = await authenticate(req, "subscriber", {
    verifier: context.verifier,
    cookieName: options.cookieName,
    resourceMetadata: context.metadataUrl,
    logger: context.logger,
  });
  if (auth.kind === "refused") {
    sendProblem(res, auth.failure.code, auth.failure.detail, { ...cors, ...auth.failure.headers });
    return;
  }
  if (auth.kind === "anonymous" && !options.anonymous) {
    const failure = missingToken(context.metadataUrl, "this hub does not accept anonymous subscribers");
    sendProblem(res, failure.code, failure.detail, { ...cors, ...failure.headers });
    return;
  }

  const client = req.socket.remoteAddress ?? "";
  const clientStreams = context.streamsPerClient.get(client) ?? 0;
  if (hub.connectionCount >= options.limits.maxConnections) {
    sendProblem(res, "too_many_connections", "the hub holds as many streams as it may (maxConnections)", {
      ...cors,
      "Retry-After": "5",
    });
    return;
  }
  if (clientStreams >= options.limits.maxConnectionsPerClient) {
    sendProblem(res, "too_many_connections", "this client holds too many streams (maxConnectionsPerClient)", {
      ...cors,
      "Retry-After": "5",
    });
    return;
  }
  context.streamsPerClient.set(client, clientStreams + 1);
  res.once("close", () => {
    const left = (context.streamsPerClient.get(client) ?? 1) - 1;
    if (left <= 0) context.streamsPerClient.delete(client);
    else context.streamsPerClient.set(client, left);
  });

  // The header wins over the query parameter (draft, "Reconciliation").
  const header = req.headersDistinct["last-event-id"]?.[0];
  const cursor = header !== undefined ? header : parameters.lastEventId;
  await hub.subscribe({
    matchers,
    grants: auth.kind === "token" ? auth.grants : undefined,
    cursor,
    sink: responseSink(res, cors),
  });
}

function compile(requested: RequestedMatcher, context: HttpContext): TopicMatcher {
  try {
    return compileMatcher(requested.type, requested.pattern, context.options.hubUrl, {
      maxPatternLength: context.options.limits.maxPatternLength,
    });
  } catch (error) {
    if (error instanceof InvalidMatcherError) throw new ProtocolError(error.code, error.message);
    throw error;
  }
}
