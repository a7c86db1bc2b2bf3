// Whether an `Accept` header (RFC 9110, section 12.5.1) admits `text/event-stream`, the only
// representation of a subscription. (Line comments: a media range such as */* would end a block
// comment.)
//
// The header is a comma-separated list of media ranges (`type/subtype`, `type/*`, `*/*`), each
// with parameters, one of which may be the weight `q`; names and types are case-insensitive, and a
// parameter value may be a quoted string (a comma or semicolon inside it does not split). The most
// specific range that covers `text/event-stream` decides: `text/event-stream` over `text/*` over
// `*/*`, so `*/*, text/event-stream;q=0` refuses the stream. A weight of 0 means "not acceptable".
//
// Where RFC 9110 leaves room:
// - No header, or one that lists nothing, accepts anything.
// - Parameters other than `q` are not compared: `text/event-stream;charset=utf-8` names the stream
//   (an event stream is always UTF-8). Of equally specific ranges, the highest weight counts.
// - A member that is not a media range, or whose weight is not a number from 0 to 1, names no type
//   and so accepts nothing; the rest of the list still counts.
export function acceptsEventStream(header: string | undefined): boolean {
  // What EventSource sends, and the absent header: no parsing.
  if (header === undefined || header === "text/event-stream") return true;
  let listed = false;
  // 3: text/event-stream, 2: text/*, 1: */*; 0 until a range covers the stream.
  let specificity = 0;
  let weight = 0;
  for (const member of splitOutsideQuotes(header, ",")) {
    if (member.trim() === "") continue;
    listed = true;
    const range = parseRange(member);
    if (range === undefined) continue;
    const level = coverage(range.type, range.subtype);
    if (level === 0 || level < specificity) continue;
    weight = level > specificity ? range.weight : Math.max(weight, range.weight);
    specificity = level;
  }
  if (!listed) return true;
  return specificity > 0 && weight > 0;
}

interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly weight: number;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const WEIGHT = /^(?:0(?:\.[0-9]*)?|1(?:\.0*)?|\.[0-9]+)$/;

function parseRange(member: string): MediaRange | undefined {
  const [range, ...parameters] = splitOutsideQuotes(member, ";");
  const slash = range!.indexOf("/");
  if (slash === -1) return undefined;
  const type = range!.slice(0, slash).trim().toLowerCase();
  const subtype = range!
    .slice(slash + 1)
    .trim()
    .toLowerCase();
  if (!TOKEN.test(type) || !TOKEN.test(subtype) || (type === "*" && subtype !== "*")) return undefined;
  let weight = 1;
  for (const parameter of parameters) {
    const equals = parameter.indexOf("=");
    if (equals === -1) continue;
    if (parameter.slice(0, equals).trim().toLowerCase() !== "q") continue;
    const value = unquote(parameter.slice(equals + 1).trim());
    if (!WEIGHT.test(value)) return undefined;
    weight = Number(value);
    // Parameters after the weight are accept extensions: none is known.
    break;
  }
  return { type, subtype, weight };
}

function coverage(type: string, subtype: string): number {
  if (type === "*") return 1;
  if (type !== "text") return 0;
  if (subtype === "*") return 2;
  return subtype === "event-stream" ? 3 : 0;
}

/** Splits at `separator` where it is not inside a quoted string (backslash escapes honoured). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  if (!text.includes('"')) return text.split(separator);
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === "\\") i++;
      else if (char === '"') quoted = false;
    } else if (char === '"') quoted = true;
    else if (char === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

function unquote(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  return value.slice(1, -1).replace(/\\(.)/g, "$1");
}
