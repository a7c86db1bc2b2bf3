import { FormError, FormParser } from "../protocol/form-parser.ts";
import { ProtocolError } from "../protocol/problems.ts";
import type { HttpRequest } from "./exchange.ts";
import type { HttpLimits } from "./options.ts";

const FORM_MEDIA_TYPE = "application/x-www-form-urlencoded";

export function isFormRequest(req: HttpRequest): boolean {
  const contentType = req.headers["content-type"];
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(";");
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return mediaType === FORM_MEDIA_TYPE;
}

/**
 * Whether the request carries a body: a Content-Length above zero, or any Transfer-Encoding
 * (node:http refuses a request with both). Decided from the headers, before a byte is read.
 */
export function hasBody(req: HttpRequest): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = req.headers["content-length"];
  return length !== undefined && Number(length) > 0;
}

/**
 * Reads an urlencoded body, enforcing the body and field limits as bytes arrive: an oversized
 * request is refused without being buffered whole. Throws a ProtocolError. Resolves with
 * undefined when the connection ends before the body does (the client left, or node:http gave up
 * on it): there is nothing to act on and no one to answer. Any client can do that at will, so it
 * is the caller's to drop quietly, never a failure of the hub.
 */
export async function readForm(
  req: HttpRequest,
  limits: HttpLimits,
  unboundedFields: ReadonlySet<string>,
): Promise<[string, string][] | undefined> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limits.maxBodyBytes) throw bodyTooLarge(limits);
  const parser = new FormParser({
    maxFieldBytes: limits.maxFieldBytes,
    maxFields: limits.maxFields,
    unboundedFields,
  });
  // Events rather than `for await`: the async iterator costs several promises and ticks per
  // request, and a publish body usually arrives in one chunk.
  return new Promise((resolve, reject) => {
    let received = 0;
    const stop = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onLeft);
      req.off("close", onClose);
    };
    const fail = (error: unknown) => {
      stop();
      // Refused mid-body: the rest is not read (the caller answers with Connection: close).
      req.pause();
      reject(error instanceof FormError ? new ProtocolError(error.code, error.message) : error);
    };
    // node:http reports a connection that ends mid-body as an error ("aborted") on the request.
    const onLeft = () => {
      stop();
      resolve(undefined);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      try {
        if (received > limits.maxBodyBytes) throw bodyTooLarge(limits);
        parser.push(chunk);
      } catch (error) {
        fail(error);
      }
    };
    const onEnd = () => {
      req.off("close", onClose);
      try {
        resolve(parser.end());
      } catch (error) {
        fail(error);
      }
    };
    // A client that leaves mid-body: 'end' never comes. Not `req.complete`: an HTTP/2 request
    // counts as complete once its stream has closed, body or not.
    const onClose = () => {
      if (!req.readableEnded) onLeft();
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onLeft);
    req.once("close", onClose);
  });
}

function bodyTooLarge(limits: HttpLimits): ProtocolError {
  return new ProtocolError(
    "body_too_large",
    `the body is larger than ${limits.maxBodyBytes} bytes (maxBodyBytes)`,
  );
}
