import { UNDECODABLE_CURSOR } from "./cursor.ts";
import { ProtocolError } from "./problems.ts";
import { STRICT_UTF8 } from "./utf8.ts";

/** The draft's matcher types, and `topic` for the legacy dialect's `topic=` selectors. */
export type RequestedMatchType = "exact" | "urlpattern" | "topic";

/** One topic matcher as the subscriber wrote it, before it is compiled. */
export interface RequestedMatcher {
  readonly type: RequestedMatchType;
  readonly pattern: string;
  /**
   * Its place among the request's matcher parameters, counted from 0 in the order sent (query,
   * then a QUERY body), duplicates included: what `report_matchers` names it by.
   */
  readonly index: number;
}

export interface SubscribeParameters {
  readonly matchers: readonly RequestedMatcher[];
  /**
   * The `last_event_id` parameter, else the legacy `lastEventID` (the Last-Event-ID header is read
   * by the caller and wins).
   */
  readonly lastEventId: string | undefined;
  /** Whether a legacy parameter (`topic`, `lastEventID`) was used. */
  readonly legacy: boolean;
  /**
   * `report_matchers=1`, an extension of this hub: each event carries a `matchers:` field listing
   * the indexes of the matchers it matched, so that a client sharing one connection among several
   * subscriptions can route it (see `matchersField`).
   */
  readonly reportMatchers: boolean;
}

/** The query parameter that asks for the `matchers:` field, and the answer that it is honoured. */
export const REPORT_MATCHERS_PARAMETER = "report_matchers";
export const MATCHERS_REPORTED_HEADER = "Quicksilver-Matchers";

/**
 * The SSE field line (`matchers: 0 2`) that names the matchers an event matched, by their
 * `RequestedMatcher.index`, ascending, and `private: 1` after it for a private update (which its
 * subscriber may read: it received it). A client's SSE parser that does not know them ignores them.
 */
export function matchersField(indexes: readonly number[], isPrivate = false): string {
  return `matchers: ${indexes.join(" ")}\n${isPrivate ? "private: 1\n" : ""}`;
}

export interface SubscribeContext {
  readonly maxMatchers: number;
  /** Whether the legacy dialect is on; when off, its parameters are refused with a 400. */
  readonly legacy: boolean;
}

const LENIENT_UTF8 = new TextDecoder("utf-8", { ignoreBOM: true });
const PERCENT_ESCAPE = /%[0-9A-Fa-f]{2}/;
/** The parameters that carry a reconnection cursor. */
const CURSOR_PARAMETERS = new Set(["last_event_id", "lastEventID"]);

/** Whether a parameter name is in the reserved `match` namespace (ASCII case-insensitive prefix). */
function inMatchNamespace(name: string): boolean {
  return name.length >= 5 && name.slice(0, 5).toLowerCase() === "match";
}

/**
 * Splits a query string (without its `?`) into name/value pairs with the WHATWG urlencoded parser,
 * as `URLSearchParams` does, with one difference: a matcher parameter whose name or value does
 * not decode as UTF-8 is refused with `matcher_characters` (draft, "Subscription": matcher values
 * MUST be valid UTF-8). `URLSearchParams` would silently turn the bad bytes into U+FFFD, so
 * `match=%FF` would subscribe to the topic "\uFFFD". A cursor (`last_event_id`, `lastEventID`)
 * that does not decode is `UNDECODABLE_CURSOR`, an unknown cursor, for the same reason. Other
 * parameters keep the lenient decoding the standard prescribes.
 */
export function parseQueryPairs(query: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const sequence of query.split("&")) {
    if (sequence === "") continue;
    const equals = sequence.indexOf("=");
    const rawName = equals === -1 ? sequence : sequence.slice(0, equals);
    const rawValue = equals === -1 ? "" : sequence.slice(equals + 1);
    const name = decodeComponent(rawName);
    const value = decodeComponent(rawValue);
    if ((inMatchNamespace(name.text) || name.text === "topic") && (!name.valid || !value.valid)) {
      throw new ProtocolError("matcher_characters", `the ${name.text} parameter is not valid UTF-8`);
    }
    if (CURSOR_PARAMETERS.has(name.text) && !value.valid) {
      pairs.push([name.text, UNDECODABLE_CURSOR]);
      continue;
    }
    pairs.push([name.text, value.text]);
  }
  return pairs;
}

/** `+` to space, then percent-decoding (a `%` not followed by two hex digits stays), then UTF-8. */
function decodeComponent(raw: string): { text: string; valid: boolean } {
  const spaced = raw.replaceAll("+", " ");
  if (!PERCENT_ESCAPE.test(spaced)) return { text: spaced, valid: spaced.isWellFormed() };
  const bytes = percentDecode(spaced);
  try {
    return { text: STRICT_UTF8.decode(bytes), valid: true };
  } catch {
    return { text: LENIENT_UTF8.decode(bytes), valid: false };
  }
}

function percentDecode(text: string): Uint8Array {
  const input = new TextEncoder().encode(text);
  const output = new Uint8Array(input.length);
  let length = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    if (byte === 0x25 && i + 2 < input.length) {
      const high = hexValue(input[i + 1]!);
      const low = hexValue(input[i + 2]!);
      if (high !== -1 && low !== -1) {
        output[length++] = high * 16 + low;
        i += 2;
        continue;
      }
    }
    output[length++] = byte;
  }
  return output.subarray(0, length);
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
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
  let legacyLastEventId: string | undefined;
  let legacy = false;
  let reportMatchers = false;
  let index = 0;
  for (const [name, value] of pairs) {
    if (name === REPORT_MATCHERS_PARAMETER) {
      reportMatchers = value === "1";
      continue;
    }
    if (name === "last_event_id") {
      // An empty value names no event ("" is never an id: the hub generates one for an empty id),
      // so it is no cursor, as an EventSource with an empty last event ID sends no header at all.
      if (value !== "") lastEventId ??= value;
      continue;
    }
    if (name === "lastEventID") {
      if (!context.legacy) {
        throw new ProtocolError(
          "legacy_last_event_id_parameter",
          "lastEventID= is the legacy cursor parameter: use last_event_id=, or start the hub with --legacy",
        );
      }
      legacy = true;
      if (value !== "") legacyLastEventId ??= value;
      continue;
    }
    let type: RequestedMatchType | undefined;
    if (name === "topic") {
      if (!context.legacy) {
        throw new ProtocolError(
          "legacy_topic_parameter",
          "topic= is the legacy subscribe parameter: use match= (or match_urlpattern=), or start the hub with --legacy",
        );
      }
      legacy = true;
      type = "topic";
    } else {
      if (!inMatchNamespace(name)) continue;
      type = MATCHER_PARAMETERS[name];
    }
    if (type === undefined) {
      throw new ProtocolError(
        "matcher_unknown_type",
        `${name} is not a matcher parameter: use match, match_exact or match_urlpattern`,
      );
    }
    const key = `${type}\u0000${value}`;
    const at = index++;
    if (seen.has(key)) continue;
    seen.add(key);
    matchers.push({ type, pattern: value, index: at });
    if (matchers.length > context.maxMatchers) {
      throw new ProtocolError("too_many_matchers", `at most ${context.maxMatchers} matchers (maxMatchers)`);
    }
  }
  if (matchers.length === 0) {
    throw new ProtocolError(
      "matcher_missing",
      context.legacy
        ? "give at least one match, match_exact, match_urlpattern or topic parameter"
        : "give at least one match, match_exact or match_urlpattern parameter",
    );
  }
  return { matchers, lastEventId: lastEventId ?? legacyLastEventId, legacy, reportMatchers };
}
