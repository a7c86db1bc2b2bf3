/**
 * Finds the access token in a request (draft, "Presenting the Access Token").
 *
 * The `Authorization: Bearer` header wins; the cookie is used only when there is no
 * `Authorization` header at all (cookies are ambient, so one next to a header is not a client
 * error and is ignored). The RFC 6750 `access_token` query parameter is never read: tokens in
 * URLs leak into logs and history (RFC 9700).
 *
 * The legacy dialect adds two places, in the old hub's order: the `authorization` query parameter
 * (after the header) and the `mercureAuthorization` cookie (after the modern cookie). Without the
 * dialect, a request using either is answered with a 400 that says what to use instead.
 */

/** Where the token came from; both cookies are ambient credentials (CSRF applies). */
export type TokenSource = "header" | "cookie" | "query" | "legacy-cookie";

export type TokenPresentation =
  | { kind: "none" }
  | { kind: "token"; token: string; via: TokenSource }
  /** A malformed presentation: answer `400` with `error="invalid_request"`. */
  | { kind: "malformed"; reason: string }
  /** A legacy presentation while the legacy dialect is off: answer `400` with this code. */
  | { kind: "legacy"; code: "legacy_authorization_parameter" | "legacy_cookie"; reason: string };

/** The old hub's cookie name. */
export const LEGACY_COOKIE_NAME = "mercureAuthorization";

export interface LegacyTokenSources {
  /** Whether the legacy dialect is on. */
  readonly enabled: boolean;
  /** The values of the request's `authorization` query parameters. */
  readonly queryTokens: readonly string[];
}

const NO_LEGACY: LegacyTokenSources = { enabled: false, queryTokens: [] };

/**
 * A JWS in compact serialization: three base64url parts (checked for the header; the verifier
 * checks it again, strictly, whatever the source: see jws-shape.ts). A token of this shape that
 * the strict check refuses (a non-canonical spelling) is `invalid_token`, not a malformed
 * request: only its issuer can mint it again. The signature part may be empty so that
 * an unsecured (`alg: none`) token reaches the verifier and is refused there as `invalid_token`
 * rather than as a malformed request.
 */
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** `credentials = auth-scheme [ 1*SP token68 ]` (RFC 9110 section 11.4). */
const CREDENTIALS = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/s;

const NONE: TokenPresentation = { kind: "none" };

/** True when `value` has the shape of a JWS compact serialization. */
export function isJwsCompact(value: string): boolean {
  return JWS_COMPACT.test(value);
}

/**
 * @param authorization Every Authorization header the request sent, so that two headers are seen.
 * @param cookieHeader Node's `req.headers.cookie` (several Cookie headers already joined by `; `).
 * @param cookieName The name of the cookie carrying the token.
 */
export function findToken(
  authorization: readonly string[] | undefined,
  cookieHeader: string | undefined,
  cookieName: string,
  legacy: LegacyTokenSources = NO_LEGACY,
): TokenPresentation {
  if (legacy.queryTokens.length > 0 && !legacy.enabled) {
    return {
      kind: "legacy",
      code: "legacy_authorization_parameter",
      reason:
        "authorization= is the legacy way to pass a token: send an Authorization: Bearer header (or the cookie), or start the hub with --legacy",
    };
  }
  if (authorization !== undefined && authorization.length > 0) return fromAuthorization(authorization);
  if (legacy.queryTokens.length > 0) return fromQuery(legacy.queryTokens);
  if (cookieHeader === undefined) return NONE;
  // A cookie that does not hold a JWS is passed on as a token: the verifier refuses it with
  // `invalid_token` ("malformed" is one of its meanings, RFC 6750 section 3.1). A browser can do
  // nothing about its request shape; what it needs is a new token, which a 401 asks for.
  const value = readCookie(cookieHeader, cookieName);
  if (value !== undefined && value !== "") return { kind: "token", token: value, via: "cookie" };
  const legacyValue = readCookie(cookieHeader, LEGACY_COOKIE_NAME);
  if (legacyValue === undefined || legacyValue === "") return NONE;
  if (!legacy.enabled) {
    return {
      kind: "legacy",
      code: "legacy_cookie",
      reason: `${LEGACY_COOKIE_NAME} is the legacy token cookie: set the token in the ${cookieName} cookie, or start the hub with --legacy`,
    };
  }
  return { kind: "token", token: legacyValue, via: "legacy-cookie" };
}

/** The old hub's `authorization` query parameter: exactly one value, a JWS. */
function fromQuery(values: readonly string[]): TokenPresentation {
  if (values.length > 1) return { kind: "malformed", reason: "more than one authorization query parameter" };
  const token = values[0]!;
  if (!isJwsCompact(token)) {
    return { kind: "malformed", reason: "the authorization query parameter is not a JWS compact token" };
  }
  return { kind: "token", token, via: "query" };
}

function fromAuthorization(values: readonly string[]): TokenPresentation {
  // RFC 6750 section 3.1: more than one credential in a request is an invalid_request.
  if (values.length > 1) return { kind: "malformed", reason: "more than one Authorization header" };
  const value = (values[0] ?? "").trim();
  const parsed = CREDENTIALS.exec(value);
  if (parsed === null) return { kind: "malformed", reason: "the Authorization header is not `scheme token`" };
  const scheme = parsed[1] ?? "";
  // Authentication schemes are case-insensitive (RFC 9110 section 11.1).
  if (scheme.toLowerCase() !== "bearer") {
    return { kind: "malformed", reason: `the Authorization scheme is ${JSON.stringify(scheme)}, not Bearer` };
  }
  const token = parsed[2] ?? "";
  if (token === "") return { kind: "malformed", reason: "the Bearer credentials are empty" };
  if (!isJwsCompact(token))
    return { kind: "malformed", reason: "the Bearer token is not a JWS compact token" };
  return { kind: "token", token, via: "header" };
}

/**
 * The value of the first cookie named `name` in a Cookie header (RFC 6265 section 5.4 serializes
 * `name=value` pairs separated by `; `; lenient about spaces, as section 5.2 parses). Pairs
 * without `=` are skipped; a value wrapped in double quotes is unwrapped. Names are
 * case-sensitive. Returns `undefined` when there is no such cookie.
 */
export function readCookie(header: string, name: string): string | undefined {
  for (const pair of header.split(";")) {
    const equals = pair.indexOf("=");
    if (equals === -1) continue;
    if (pair.slice(0, equals).trim() !== name) continue;
    let value = pair.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return value;
  }
  return undefined;
}
