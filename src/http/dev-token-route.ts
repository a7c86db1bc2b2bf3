import { mintToken } from "../auth/mint.ts";
import { ProtocolError } from "../protocol/problems.ts";
import type { HttpContext } from "./context.ts";
import type { HttpRequest, HttpResponse } from "./exchange.ts";
import type { DevTokenKey } from "./options.ts";
import { HttpRefusal } from "./refusal.ts";
import { sendJson } from "./respond.ts";

/** The bounds of a development token request: each refused with `dev_token_request_invalid`. */
export const DEV_TOKEN_LIMITS = Object.freeze({
  /** Most topics (or patterns) in each of `publish`, `subscribe` and `subscribeUrlPattern`. */
  maxTopics: 32,
  /** Longest topic or pattern, in UTF-8 bytes. */
  maxTopicBytes: 2048,
  /** Largest `payload`, as JSON, in UTF-8 bytes. */
  maxPayloadBytes: 4096,
  /** Largest request body, in bytes: room for every list and the payload, escaped. */
  maxBodyBytes: 256 * 1024,
});

/** How long a development token is valid. */
export const DEV_TOKEN_TTL_SECONDS = 3600;

const LISTS = ["publish", "subscribe", "subscribeUrlPattern"] as const;

/** What the page asks a development token for. */
interface DevTokenRequest {
  publish?: string[];
  subscribe?: string[];
  subscribeUrlPattern?: string[];
  payload?: Record<string, unknown>;
}

/**
 * `POST {hub path}/ui/dev-token`, in development mode only: mints a token with the generated
 * development key for the grants asked, valid an hour. The body must be `application/json`, which
 * a page of another origin cannot send without a CORS preflight this route never allows. The
 * token is answered, never logged.
 */
export async function devTokenRoute(
  req: HttpRequest,
  res: HttpResponse,
  key: DevTokenKey,
  context: HttpContext,
): Promise<void> {
  if (!isJson(req.headers["content-type"])) {
    throw new HttpRefusal("dev_token_request_invalid", "send the request as application/json", {
      bodyUnread: true,
    });
  }
  const text = await readBody(req);
  if (text === undefined) return;
  const request = parseRequest(text);
  const token = await mintToken({
    issuer: key.issuer,
    audience: context.options.resourceIdentifier,
    key: key.key,
    ...request,
    ttlSeconds: DEV_TOKEN_TTL_SECONDS,
  });
  sendJson(
    res,
    200,
    { token },
    { "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer" },
  );
}

function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  return contentType.split(";")[0]!.trim().toLowerCase() === "application/json";
}

/** The request's grants, checked against `DEV_TOKEN_LIMITS`. */
function parseRequest(text: string): DevTokenRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid("the body is not JSON");
  }
  if (!isObject(body)) throw invalid("the body must be a JSON object");
  const request: DevTokenRequest = {};
  for (const [field, value] of Object.entries(body)) {
    if ((LISTS as readonly string[]).includes(field)) {
      request[field as (typeof LISTS)[number]] = topicList(field, value);
    } else if (field === "payload") {
      if (!isObject(value)) throw invalid("payload must be a JSON object");
      if (Buffer.byteLength(JSON.stringify(value)) > DEV_TOKEN_LIMITS.maxPayloadBytes) {
        throw invalid(`payload is larger than ${DEV_TOKEN_LIMITS.maxPayloadBytes} bytes`);
      }
      request.payload = value;
    } else {
      throw invalid(`unknown field ${JSON.stringify(field.slice(0, 64))}: ${LISTS.join(", ")} or payload`);
    }
  }
  return request;
}

function topicList(field: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((topic) => typeof topic === "string" && topic !== "")) {
    throw invalid(`${field} must be an array of non-empty strings`);
  }
  if (value.length > DEV_TOKEN_LIMITS.maxTopics) {
    throw invalid(`${field} has more than ${DEV_TOKEN_LIMITS.maxTopics} entries`);
  }
  if (value.some((topic: string) => Buffer.byteLength(topic) > DEV_TOKEN_LIMITS.maxTopicBytes)) {
    throw invalid(`an entry of ${field} is longer than ${DEV_TOKEN_LIMITS.maxTopicBytes} bytes`);
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(detail: string): HttpRefusal {
  return new HttpRefusal("dev_token_request_invalid", detail);
}

/**
 * The body as text, refused past `maxBodyBytes` as it arrives; undefined when the client left
 * before sending it whole (nobody to answer).
 */
function readBody(req: HttpRequest): Promise<string | undefined> {
  const tooLarge = () =>
    new ProtocolError("body_too_large", `the body is larger than ${DEV_TOKEN_LIMITS.maxBodyBytes} bytes`);
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > DEV_TOKEN_LIMITS.maxBodyBytes) {
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onLeft);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > DEV_TOKEN_LIMITS.maxBodyBytes) {
        stop();
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onLeft = () => {
      stop();
      resolve(undefined);
    };
    const onClose = () => {
      if (!req.readableEnded) onLeft();
    };
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onLeft);
    req.once("close", onClose);
  });
}
