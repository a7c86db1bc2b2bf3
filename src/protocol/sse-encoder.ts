/** The fields of one Server-Sent Event, as the hub writes them. */
export interface SseFields {
  readonly id: string;
  readonly type?: string | undefined;
  readonly retry?: string | undefined;
  readonly data: string;
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Serializes an event. `data` becomes one `data:` line per line (split on CR, LF or CRLF):
 * writing it raw would let a value holding `\nid:` or `\nevent:` forge fields (draft, "Server-Sent
 * Events Field Injection"). `id`, `type` and `retry` are validated before they get here.
 * At least one `data:` line is always written so that an empty payload still dispatches.
 */
export function encodeEvent(event: SseFields): string {
  let out = `id: ${event.id}\n`;
  if (event.type !== undefined) out += `event: ${event.type}\n`;
  if (event.retry !== undefined) out += `retry: ${event.retry}\n`;
  const data = event.data;
  if (data.indexOf("\n") === -1 && data.indexOf("\r") === -1) {
    out += `data: ${data}\n`;
  } else {
    for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`;
  }
  return out + "\n";
}

/** An SSE comment: keeps intermediaries from closing an idle stream. */
export const KEEP_ALIVE = ":\n";

/**
 * The fields of a frame `encodeEvent` wrote, read back (a stored update keeps only its frame).
 * Exact, except that line breaks in `data` come back as LF: the frame has no trace of CR.
 */
export function decodeEvent(frame: string): SseFields {
  let id = "";
  let type: string | undefined;
  let retry: string | undefined;
  const data: string[] = [];
  for (const line of frame.split("\n")) {
    if (line.startsWith("data: ")) data.push(line.slice(6));
    else if (line.startsWith("id: ")) id = line.slice(4);
    else if (line.startsWith("event: ")) type = line.slice(7);
    else if (line.startsWith("retry: ")) retry = line.slice(7);
  }
  return { id, type, retry, data: data.join("\n") };
}
