import { compileMatcher } from "../matching/compile.ts";
import { InvalidMatcherError, type TopicMatcher } from "../matching/matcher.ts";
import { MAX_PROGRAM_SIZE } from "../matching/urlpattern/regexp-engine.ts";
import { acceptsEventStream } from "../protocol/accept.ts";
import { ProtocolError } from "../protocol/problems.ts";
import {
  MATCHERS_REPORTED_HEADER,
  parseQueryPairs,
  parseSubscribeParameters,
  type RequestedMatcher,
} from "../protocol/subscribe-request.ts";
import { authenticate, invalidToken, isLegacyPresentation, missingToken } from "./authenticate.ts";
import { clientAddress } from "./client-address.ts";
import type { HttpContext } from "./context.ts";
import { corsHeaders } from "./cors.ts";
import { canAnswer, type HttpRequest, type HttpResponse, logDropped } from "./exchange.ts";
import { lastEventIdHeader } from "./last-event-id-header.ts";
import { hasBody, isFormRequest, readForm } from "./read-form.ts";
import { HttpRefusal } from "./refusal.ts";
import { REQUEST_ID_RESPONSE_HEADER, requestIdOf } from "./request-id.ts";
import { streamSinkFor } from "./stream-sink-for.ts";

/** A QUERY body holds subscribe parameters only: every field is bounded by maxFieldBytes. */
const EVERY_FIELD_BOUNDED: ReadonlySet<string> = new Set();

/**
 * Most automaton instructions one subscription's matchers may compile to, all together: as many
 * as a single automaton may (MAX_PROGRAM_SIZE). Every published topic costs each distinct pattern its
 * length × its instructions, and counted repetitions make a short pattern large
 * (`/:x((?:a{0,12}){0,12})` is some 300): without a bound on the sum, one subscription of 64 such
 * patterns made each publish run tens of millions of steps. Ordinary patterns take tens of
 * instructions, and fixed text or a trailing `*` none.
 */
export const MAX_SUBSCRIPTION_INSTRUCTIONS = MAX_PROGRAM_SIZE;

/**
 * Pattern characters compiled before the event loop is let run other work. Compiling costs about
 * a microsecond per character, so the 64 patterns of 2,048 characters one request may send would
 * otherwise hold every other stream and request for a hundred milliseconds or more.
 */
const COMPILE_SLICE_CHARACTERS = 8192;

/**
 * GET (or QUERY) {hub}: check the request's form (Accept, then a QUERY body's Content-Type),
 * validate the matchers, authenticate, then hand the stream to the hub. With QUERY the body's
 * form parameters are added to the query's (the query's come first, so its `last_event_id`
 * wins). A refusal of the request's form comes before authentication: it says nothing about
 * the token or the topics. Refusals are thrown (HttpRefusal), and answered by the router.
 */
export async function subscribeRoute(
  req: HttpRequest,
  res: HttpResponse,
  url: URL,
  context: HttpContext,
): Promise<void> {
  const { options, hub } = context;
  // Read now: once the client is gone the socket forgets its address, and a slot counted under
  // an empty address would never be given back to the client it belongs to.
  const peer = req.socket.remoteAddress ?? "";
  const client =
    options.trustedProxies === undefined ? peer : clientAddress(peer, req.headers, options.trustedProxies);
  // A subscription has one representation: a client that cannot take it gets an answer it can
  // act on rather than a stream it would discard.
  if (!acceptsEventStream(req.headers.accept)) {
    throw new HttpRefusal("not_acceptable", "a subscription is answered with text/event-stream: accept it", {
      bodyUnread: true,
    });
  }
  // A QUERY body is a form. One without a Content-Type cannot be read as anything: guessing a
  // form would give meaning to bytes the client may have meant otherwise. A QUERY without a body
  // needs none. The body is not read: the connection is closed after the refusal.
  const contentType = req.headers["content-type"];
  if (req.method === "QUERY" && (contentType === undefined ? hasBody(req) : !isFormRequest(req))) {
    throw new HttpRefusal(
      contentType === undefined ? "content_type_missing" : "unsupported_media_type",
      "send QUERY parameters as application/x-www-form-urlencoded",
      { bodyUnread: true },
    );
  }
  // Not url.searchParams: it turns bytes that are not UTF-8 into U+FFFD, and a matcher must be
  // refused for them instead. url.search is the parsed URL's query, non-ASCII already escaped.
  const pairs = parseQueryPairs(url.search.slice(1));
  if (req.method === "QUERY" && contentType !== undefined) {
    const body = await readForm(req, options.limits, EVERY_FIELD_BOUNDED);
    if (body === undefined) {
      logDropped(context.logger, req);
      return;
    }
    pairs.push(...body);
  }
  const parameters = parseSubscribeParameters(pairs, {
    maxMatchers: options.limits.maxMatchers,
    legacy: options.legacy,
  });
  const matchers = await compileAll(parameters.matchers, context);

  const auth = await authenticate(req, "subscriber", context);
  // The verifier allows a few seconds of clock skew on exp; a stream would still be closed at
  // exp at once, and the client would reconnect in a loop until the skew ran out.
  if (
    auth.kind === "token" &&
    auth.grants.expiresAt !== undefined &&
    auth.grants.expiresAt <= context.now()
  ) {
    throw invalidToken(context.metadataUrl);
  }
  if (auth.kind === "anonymous" && !options.anonymous) {
    throw missingToken(context.metadataUrl, "this hub does not accept anonymous subscribers");
  }

  // The client may have left while the body was read or the token verified: its response has
  // already emitted 'close', so nothing would ever release a slot or a stream registered for it,
  // and a subscription it no longer knows of would be announced to others.
  if (!canAnswer(req, res)) {
    logDropped(context.logger, req);
    return;
  }
  // Anonymous subscribers have no subject: they are bounded per client address only.
  const holder = { client, subject: auth.kind === "token" ? auth.holder : undefined };
  context.streams.admit(holder, hub.connectionCount);
  (res as NodeJS.EventEmitter).once("close", () => context.streams.release(holder));

  // The header wins over the query parameter (draft, "Reconciliation").
  const cursor = lastEventIdHeader(req) ?? parameters.lastEventId;
  // Old clients read the replay anchor from Last-Event-ID, the name the header had before draft-08.
  const legacy =
    parameters.legacy ||
    (auth.kind === "token" && (auth.grants.dialect === "legacy" || isLegacyPresentation(auth.via)));
  const requestId = requestIdOf(req);
  // The sink writes the stream's head itself: the id set on the response would not be in it.
  const headers = corsHeaders(req.headers.origin, options.corsOrigins);
  if (requestId !== undefined) headers[REQUEST_ID_RESPONSE_HEADER] = requestId;
  if (parameters.reportMatchers) headers[MATCHERS_REPORTED_HEADER] = "reported";
  await hub.subscribe({
    matchers,
    grants: auth.kind === "token" ? auth.grants : undefined,
    cursor,
    sink: streamSinkFor(req, res, headers, { legacyAnchorHeader: legacy }),
    requestId,
    client,
    ...(parameters.reportMatchers
      ? { reportedIndexes: parameters.matchers.map((matcher) => matcher.index) }
      : {}),
  });
}

/**
 * Compiles the matchers, a slice at a time, refusing them as soon as together they exceed the
 * instruction bound.
 */
async function compileAll(
  requested: readonly RequestedMatcher[],
  context: HttpContext,
): Promise<TopicMatcher[]> {
  const matchers: TopicMatcher[] = [];
  let instructions = 0;
  let characters = 0;
  for (const matcher of requested) {
    if (characters >= COMPILE_SLICE_CHARACTERS) {
      characters = 0;
      await new Promise(setImmediate);
    }
    characters += matcher.pattern.length;
    const compiled = compile(matcher, context);
    instructions += compiled.instructions;
    if (instructions > MAX_SUBSCRIPTION_INSTRUCTIONS) {
      throw new ProtocolError(
        "matchers_too_complex",
        `the matchers compile to more than ${MAX_SUBSCRIPTION_INSTRUCTIONS} instructions together; ` +
          "use fewer patterns, fewer parameters or smaller repetition counts",
      );
    }
    matchers.push(compiled);
  }
  return matchers;
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
