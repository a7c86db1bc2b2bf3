import type { IncomingMessage } from "node:http";
import { FormError, FormParser } from "../protocol/form-parser.ts";
import { ProtocolError } from "../protocol/problems.ts";
import type { HttpLimits } from "./options.ts";

const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

export function isFormRequest(req: IncomingMessage): boolean {
  const contentType = req.headers["content-type"];
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(";");
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return mediaType === FORM_MEDIA_TYPE;
}

/**
 * Reads an urlencoded body, enforcing the body and field limits as bytes arrive: an oversized
 * request is refused without being buffered whole. Throws a ProtocolError.
 */
export async function readForm(
  req: IncomingMessage,
  limits: HttpLimits,
  unboundedFields: ReadonlySet<string>,
): Promise<[string, string][]> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limits.maxBodyBytes) throw bodyTooLarge(limits);
  const parser = new FormParser({
    maxFieldBytes: limits.maxFieldBytes,
    maxFields: limits.maxFields,
    unboundedFields,
  });
  let received = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > limits.maxBodyBytes) throw bodyTooLarge(limits);
      parser.push(chunk);
    }
    return parser.end();
  } catch (error) {
    if (error instanceof FormError) throw new ProtocolError(error.code, error.message);
    throw error;
  }
}

function bodyTooLarge(limits: HttpLimits): ProtocolError {
  return new ProtocolError(
    "body_too_large",
    `the body is larger than ${limits.maxBodyBytes} bytes (maxBodyBytes)`,
  );
}
