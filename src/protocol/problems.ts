import { QuicksilverError } from "./quicksilver-error.ts";

/**
 * Every error the hub answers with: a stable code, its HTTP status and a title. Clients branch on
 * `code` (sent in RFC 9457 problem documents), never on the human-readable detail. Each code is
 * documented in docs/errors.md; a test keeps the two in step.
 */
export const PROBLEMS = {
  // Publish: the update itself.
  topic_missing: { status: 400, title: "The update has no topic" },
  topic_invalid: { status: 400, title: "A topic contains a forbidden character" },
  topic_wildcard: { status: 400, title: "A topic cannot be exactly *" },
  topic_reserved: { status: 400, title: "A topic addresses the hub's reserved namespace" },
  id_invalid: { status: 400, title: "The id is not allowed" },
  type_invalid: { status: 400, title: "The type is not allowed" },
  retry_invalid: { status: 400, title: "retry must be ASCII digits" },
  form_invalid_utf8: { status: 400, title: "The form is not valid UTF-8" },
  unsupported_media_type: { status: 415, title: "Publish with application/x-www-form-urlencoded" },
  content_type_missing: { status: 400, title: "A request body needs a Content-Type" },
  // Publish: limits.
  body_too_large: { status: 413, title: "The request body is too large" },
  form_field_too_long: { status: 413, title: "A form field is too long" },
  form_too_many_fields: { status: 413, title: "The form has too many fields" },
  too_many_topics: { status: 413, title: "The update has too many topics" },
  update_too_large: { status: 413, title: "The update's event is too large for a subscriber's queue" },
  // Subscribe.
  not_acceptable: { status: 406, title: "The subscriber does not accept text/event-stream" },
  matcher_missing: { status: 400, title: "No topic matcher was given" },
  matcher_unknown_type: { status: 400, title: "Unknown topic matcher parameter" },
  matcher_characters: { status: 400, title: "A topic matcher contains a forbidden character" },
  matcher_too_long: { status: 400, title: "A topic matcher is too long" },
  too_many_matchers: { status: 400, title: "Too many topic matchers" },
  matchers_too_complex: { status: 400, title: "The topic matchers compile to too large an automaton" },
  urlpattern_syntax: { status: 400, title: "A URL Pattern is malformed" },
  urlpattern_unsupported: { status: 400, title: "A URL Pattern uses an unsupported regular expression" },
  uritemplate_syntax: { status: 400, title: "A URI Template is malformed" },
  uritemplate_unsupported: { status: 400, title: "A URI Template uses an unsupported feature" },
  // The legacy dialect, when the hub runs without --legacy.
  legacy_topic_parameter: { status: 400, title: "topic= is the legacy subscribe parameter" },
  legacy_last_event_id_parameter: { status: 400, title: "lastEventID= is the legacy cursor parameter" },
  legacy_authorization_parameter: { status: 400, title: "authorization= is the legacy token parameter" },
  legacy_cookie: { status: 400, title: "mercureAuthorization is the legacy token cookie" },
  // Authorization (RFC 6750; the OAuth error travels in WWW-Authenticate).
  token_missing: { status: 401, title: "An access token is required" },
  token_invalid: { status: 401, title: "The access token is invalid" },
  token_malformed_request: { status: 400, title: "The access token is presented in a malformed way" },
  insufficient_scope: { status: 403, title: "The access token does not grant this operation" },
  origin_refused: { status: 403, title: "A cookie-authenticated publish must come from an allowed origin" },
  // The rest.
  request_target_invalid: { status: 400, title: "The request target is not a valid URL" },
  not_found: { status: 404, title: "Not found" },
  dev_token_request_invalid: { status: 400, title: "The development token request is not valid" },
  subscription_not_found: { status: 404, title: "No such active subscription" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  too_many_connections: { status: 429, title: "Too many connections" },
  publish_rate_exceeded: { status: 429, title: "Too many updates from this publisher" },
  hub_at_capacity: { status: 503, title: "The hub holds as many connections as it may" },
  shutting_down: { status: 503, title: "The hub is shutting down" },
  store_unavailable: { status: 503, title: "The update could not be stored" },
  history_unavailable: { status: 503, title: "History cannot be read now" },
  internal_error: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/** An error that maps to one of the documented problems. */
export class ProtocolError extends QuicksilverError {
  readonly code: ProblemCode;
  readonly status: number;
  constructor(code: ProblemCode, detail: string) {
    super(detail);
    this.name = "ProtocolError";
    this.code = code;
    this.status = PROBLEMS[code].status;
  }
}
