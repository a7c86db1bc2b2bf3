/**
 * What the client SDK throws or emits when the hub says no, or cannot be reached. An app tells them
 * apart with `instanceof` (or `status` and `code`): a `MercureNetworkError` alone is retried by the
 * SDK; a refusal by the hub is the app's to handle, never papered over (a `401` is not turned
 * into an anonymous subscription).
 */

/** The base of every error the SDK raises. */
export class MercureError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MercureError";
  }
}

/** The hub could not be reached, or the connection was lost: retried with backoff. */
export class MercureNetworkError extends MercureError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MercureNetworkError";
  }
}

/**
 * The hub answered with an HTTP error. `code` is the stable code of its problem document (or the
 * OAuth `error` of its `WWW-Authenticate` challenge), `retryAfterMs` its `Retry-After`.
 */
export class MercureHttpError extends MercureError {
  readonly status: number;
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    status: number,
    fields: {
      code?: string | undefined;
      detail?: string | undefined;
      retryAfterMs?: number | undefined;
    } = {},
  ) {
    super(
      `the hub answered ${status}${fields.code === undefined ? "" : ` ${fields.code}`}${
        fields.detail === undefined ? "" : `: ${fields.detail}`
      }`,
    );
    this.name = "MercureHttpError";
    this.status = status;
    this.code = fields.code;
    this.detail = fields.detail;
    this.retryAfterMs = fields.retryAfterMs;
  }
}

/** `401`: no token, or one the hub refuses (expired, wrong key). Refresh it; never retried as is. */
export class MercureUnauthorizedError extends MercureHttpError {
  constructor(fields: ConstructorParameters<typeof MercureHttpError>[1] = {}) {
    super(401, fields);
    this.name = "MercureUnauthorizedError";
  }
}

/** `403`: the token does not grant this (a topic it may not publish, an origin refused). */
export class MercureForbiddenError extends MercureHttpError {
  constructor(fields: ConstructorParameters<typeof MercureHttpError>[1] = {}) {
    super(403, fields);
    this.name = "MercureForbiddenError";
  }
}

/** `406`: the hub would not serve an event stream to this request. */
export class MercureNotAcceptableError extends MercureHttpError {
  constructor(fields: ConstructorParameters<typeof MercureHttpError>[1] = {}) {
    super(406, fields);
    this.name = "MercureNotAcceptableError";
  }
}

/** `429`: a limit of the hub; `retryAfterMs` says when to try again. */
export class MercureRateLimitedError extends MercureHttpError {
  constructor(fields: ConstructorParameters<typeof MercureHttpError>[1] = {}) {
    super(429, fields);
    this.name = "MercureRateLimitedError";
  }
}

/**
 * `Retry-After` in milliseconds: delay-seconds, or an HTTP date (from `now`); undefined when
 * absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The OAuth `error` parameter of a `WWW-Authenticate: Bearer` challenge (RFC 6750). */
function challengeError(header: string | null): string | undefined {
  if (header === null) return undefined;
  return /(?:^|[\s,])error="?([A-Za-z_]+)"?/.exec(header)?.[1];
}

/**
 * The typed error for a response that is not a success. Reads its problem document (RFC 9457)
 * when it has one; the body is consumed.
 */
export async function errorFromResponse(response: Response): Promise<MercureHttpError> {
  let code: string | undefined;
  let detail: string | undefined;
  if ((response.headers.get("content-type") ?? "").includes("json")) {
    try {
      const problem = (await response.json()) as { code?: unknown; detail?: unknown; title?: unknown };
      if (typeof problem.code === "string") code = problem.code;
      if (typeof problem.detail === "string") detail = problem.detail;
      else if (typeof problem.title === "string") detail = problem.title;
    } catch {
      // Not a problem document after all: the status says enough.
    }
  } else {
    await response.body?.cancel().catch(() => {});
  }
  code ??= challengeError(response.headers.get("www-authenticate"));
  const fields = { code, detail, retryAfterMs: parseRetryAfter(response.headers.get("retry-after")) };
  switch (response.status) {
    case 401:
      return new MercureUnauthorizedError(fields);
    case 403:
      return new MercureForbiddenError(fields);
    case 406:
      return new MercureNotAcceptableError(fields);
    case 429:
      return new MercureRateLimitedError(fields);
    default:
      return new MercureHttpError(response.status, fields);
  }
}

/** Options `subscribe` cannot work with; `code` says which (`matcher_missing`, `hub_url_invalid`, …). */
export class MercureOptionsError extends MercureError {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "MercureOptionsError";
    this.code = code;
  }
}

/** An event whose data the subscription's `parse` function refused; the event is skipped. */
export class MercureParseError extends MercureError {
  /** The id of the event. */
  readonly id: string;

  constructor(id: string, options?: ErrorOptions) {
    super(`the data of event ${JSON.stringify(id)} could not be parsed`, options);
    this.name = "MercureParseError";
    this.id = id;
  }
}

/**
 * A `for await` loop fell `limit` messages behind: the subscription ended rather than hold more in
 * memory. The loop first gets every message held; resubscribe from the subscription's
 * `lastEventId` to go on with nothing lost.
 */
export class MercureBufferOverflowError extends MercureError {
  readonly limit: number;

  constructor(limit: number) {
    super(`more than ${limit} messages waited for the loop (maxBufferedMessages)`);
    this.name = "MercureBufferOverflowError";
    this.limit = limit;
  }
}
