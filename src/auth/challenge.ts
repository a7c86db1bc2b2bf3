/**
 * `WWW-Authenticate: Bearer` challenges (RFC 6750 section 3, RFC 9728 section 5.1).
 *
 * No token where one is needed: no `error` at all. A bad token: `invalid_token`. A valid token
 * without the grant: `insufficient_scope`. A malformed presentation: `invalid_request`. No
 * `error_description` is ever sent: why a token failed is for the logs only.
 */

export type BearerError = "invalid_request" | "invalid_token" | "insufficient_scope";

export interface BearerChallengeOptions {
  error?: BearerError;
  /** URL of the hub's protected resource metadata. */
  resourceMetadata: string;
}

export function bearerChallenge(opts: BearerChallengeOptions): string {
  let challenge = `Bearer resource_metadata=${quote(opts.resourceMetadata)}`;
  if (opts.error !== undefined) challenge += `, error=${quote(opts.error)}`;
  return challenge;
}

/** An RFC 9110 `quoted-string`: `"` and `\` escaped; control characters cannot be carried. */
function quote(value: string): string {
  if (/[\u0000-\u0008\u000A-\u001F\u007F]/.test(value)) {
    throw new RangeError("a WWW-Authenticate parameter cannot contain control characters");
  }
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}
