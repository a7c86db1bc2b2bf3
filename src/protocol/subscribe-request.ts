import { ProtocolError } from "./problems.ts";

export type RequestedMatchType = "exact" | "urlpattern";

/** One topic matcher as the subscriber wrote it, before it is compiled. */
export interface RequestedMatcher {
  readonly type: RequestedMatchType;
  readonly pattern: string;
}

export interface SubscribeParameters {
  readonly matchers: readonly RequestedMatcher[];
  /** The `last_event_id` parameter (the Last-Event-ID header is read by the caller and wins). */
  readonly lastEventId: string | undefined;
}

export interface SubscribeContext {
  readonly maxMatchers: number;
}

const MATCHER_PARAMETERS: Readonly<Record<string, RequestedMatchType>> = {
  match: "exact",
  match_exact: "exact",
  match_urlpattern: "urlpattern",
};

/**
 * Reads the subscribe parameters. The whole `match` prefix is reserved, compared
 * case-insensitively: `Match`, `matchfoo` or `match_regex` fail loudly rather than being ignored
 * (draft, "Subscription"). Identical matchers collapse into one subscription. For `QUERY`, the
 * caller passes the query pairs first, so the query's `last_event_id` wins over the body's.
 */
export function parseSubscribeParameters(
  pairs: Iterable<readonly [string, string]>,
  context: SubscribeContext,
): SubscribeParameters {
  const matchers: RequestedMatcher[] = [];
  const seen = new Set<string>();
  let lastEventId: string | undefined;
  for (const [name, value] of pairs) {
    if (name === "last_event_id") {
      lastEventId ??= value;
      continue;
    }
    if (name === "topic") {
      throw new ProtocolError(
        "legacy_topic_parameter",
        "topic= is the legacy subscribe parameter: use match= (or match_urlpattern=), or start the hub with --legacy",
      );
    }
    if (name.slice(0, 5).toLowerCase() !== "match") continue;
    const type = MATCHER_PARAMETERS[name];
    if (type === undefined) {
      throw new ProtocolError(
        "matcher_unknown_type",
        `${name} is not a matcher parameter: use match, match_exact or match_urlpattern`,
      );
    }
    const key = `${type}\u0000${value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    matchers.push({ type, pattern: value });
    if (matchers.length > context.maxMatchers) {
      throw new ProtocolError("too_many_matchers", `at most ${context.maxMatchers} matchers (maxMatchers)`);
    }
  }
  if (matchers.length === 0) {
    throw new ProtocolError(
      "matcher_missing",
      "give at least one match, match_exact or match_urlpattern parameter",
    );
  }
  return { matchers, lastEventId };
}
