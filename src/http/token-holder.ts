import { createHash } from "node:crypto";
import type { Grants } from "../auth/grants.ts";

/**
 * Holders already computed, by the token's grants: the verified-token cache hands the same grants
 * to every request presenting one token, so a token is hashed once while it stays cached, not on
 * every publish. Grants belong to one token only, and are let go with it.
 */
const known = new WeakMap<Grants, string>();

/**
 * Who holds a verified token, as a short fixed-size key: the hash of its issuer and subject
 * (`iss` + `sub`: a subject is unique within its issuer only), or, for a token without `sub` (a
 * legacy token, or an issuer that sets none), the hash of the token itself. Such a token is its
 * own holder: every copy of it counts as one, which bounds a token shared or leaked as it bounds a
 * subject. Hashed so that a map of holders costs the same whatever the claims' length (a token
 * may be `max-token-bytes` long), and holds no token.
 */
export function tokenHolder(grants: Grants, token: string): string {
  let holder = known.get(grants);
  if (holder === undefined) {
    const hash = createHash("sha256");
    if (grants.subject === undefined) hash.update("token\0").update(token);
    else
      hash
        .update("subject\0")
        .update(grants.issuer ?? "")
        .update("\0")
        .update(grants.subject);
    holder = hash.digest("base64url");
    known.set(grants, holder);
  }
  return holder;
}
