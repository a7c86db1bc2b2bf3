/**
 * Ids beyond ASCII travel in HTTP headers as their UTF-8 bytes. `fetch` exposes a header as one
 * character per byte, and takes one the same way: these convert between that form and the id.
 */

/** The id a header value (one character per byte) holds, decoded as UTF-8. */
export function headerToText(value: string): string {
  if (/^[\u0000-\u007f]*$/.test(value)) return value;
  return new TextDecoder().decode(Uint8Array.from(value, (c) => c.charCodeAt(0) & 0xff));
}

/** The header value (one character per byte) that carries `text` as UTF-8. */
export function textToHeader(text: string): string {
  if (/^[\u0000-\u007f]*$/.test(text)) return text;
  let value = "";
  for (const byte of new TextEncoder().encode(text)) value += String.fromCharCode(byte);
  return value;
}
