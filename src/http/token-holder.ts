import { createHash } from "node:crypto";
import type { Grants } from "../auth/grants.ts";

/**
 * Who holds a verified token, as a short fixed-size key: the hash of its issuer and subject
 * (`iss` + `sub`: a subject is unique within its issuer only), or, for a token without `sub` (a
 * legacy token, or an issuer that sets none), the hash of the token itself. Such a token is its
 * own holder: every copy of it counts as one, which bounds a token shared or leaked as it bounds a
 * subject. Hashed so that a map of holders costs the same whatever the claims' length (a token
 * may be `max-token-bytes` long), and holds no token.
 */
export function tokenHolder(grants: Grants, token: string): string {
  const hash = createHash("sha256");
  if (grants.subject === undefined) hash.update("token\0").update(token);
  else
    hash
      .update("subject\0")
      .update(grants.issuer ?? "")
      .update("\0")
      .update(grants.subject);
  return hash.digest("base64url");
}
