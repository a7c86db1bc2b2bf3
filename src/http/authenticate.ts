import { bearerChallenge } from "../auth/challenge.ts";
import { InvalidTokenError } from "../auth/errors.ts";
import type { Grants } from "../auth/grants.ts";
import { findToken, type TokenSource } from "../auth/token-source.ts";
import type { Role } from "../auth/verifier.ts";
import { tokenRefused } from "../hub/diagnostics.ts";
import type { HttpContext } from "./context.ts";
import type { HttpRequest } from "./exchange.ts";
import { headerValues } from "./header-values.ts";
import { HttpRefusal } from "./refusal.ts";
import { requestIdOf } from "./request-id.ts";
import { tokenHolder } from "./token-holder.ts";

export type Authentication =
  | { readonly kind: "anonymous" }
  | {
      readonly kind: "token";
      readonly grants: Grants;
      readonly via: TokenSource;
      /** Who holds the token (see `tokenHolder`): what per-subject and per-publisher limits count. */
      readonly holder: string;
    };

/**
 * Finds and verifies the request's token. The Authorization header wins over the cookie; a
 * malformed presentation is refused with `400 invalid_request`; a bad token with
 * `401 invalid_token`, whose reason goes to the log only (telling the client why helps an
 * attacker, not the client). Refusals are thrown as HttpRefusal, challenge included.
 */
export async function authenticate(
  req: HttpRequest,
  role: Role,
  context: HttpContext,
): Promise<Authentication> {
  const presentation = findToken(
    headerValues(req, "authorization"),
    req.headers.cookie,
    context.options.cookieName,
    { enabled: context.options.legacy, queryTokens: queryTokens(req.url) },
  );
  const resourceMetadata = context.metadataUrl;
  switch (presentation.kind) {
    case "none":
      return { kind: "anonymous" };
    case "legacy":
      throw new HttpRefusal(presentation.code, presentation.reason);
    case "malformed":
      throw new HttpRefusal("token_malformed_request", presentation.reason, {
        headers: { "WWW-Authenticate": bearerChallenge({ error: "invalid_request", resourceMetadata }) },
      });
    case "token":
      try {
        const grants = await context.verifier.verify(presentation.token, role);
        return {
          kind: "token",
          grants,
          via: presentation.via,
          holder: tokenHolder(grants, presentation.token),
        };
      } catch (error) {
        if (tokenRefused.hasSubscribers) {
          tokenRefused.publish({ role, reason: error instanceof InvalidTokenError ? error.code : "invalid" });
        }
        context.logger.info(
          {
            requestId: requestIdOf(req),
            role,
            via: presentation.via,
            reason: (error as { reason?: string }).reason ?? String(error),
          },
          "access token refused",
        );
        throw invalidToken(resourceMetadata);
      }
  }
}

/** The values of the old hub's `authorization` query parameter. */
function queryTokens(url: string | undefined): string[] {
  const query = url?.indexOf("?") ?? -1;
  if (query === -1 || !url!.includes("authorization", query)) return [];
  return new URLSearchParams(url!.slice(query + 1)).getAll("authorization");
}

/** Whether the request used one of the legacy dialect's ways of presenting a token. */
export function isLegacyPresentation(via: TokenSource): boolean {
  return via === "query" || via === "legacy-cookie";
}

/** No token where one is needed: a challenge without `error` (RFC 6750 section 3.1). */
export function missingToken(resourceMetadata: string, detail: string): HttpRefusal {
  return new HttpRefusal("token_missing", detail, {
    headers: { "WWW-Authenticate": bearerChallenge({ resourceMetadata }) },
  });
}

export function invalidToken(resourceMetadata: string): HttpRefusal {
  return new HttpRefusal("token_invalid", "the access token is invalid or expired", {
    headers: { "WWW-Authenticate": bearerChallenge({ error: "invalid_token", resourceMetadata }) },
  });
}

export function insufficientScope(resourceMetadata: string, detail: string): HttpRefusal {
  return new HttpRefusal("insufficient_scope", detail, {
    headers: { "WWW-Authenticate": bearerChallenge({ error: "insufficient_scope", resourceMetadata }) },
  });
}
