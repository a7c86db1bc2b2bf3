import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerChallenge } from "../auth/challenge.ts";
import type { Grants } from "../auth/grants.ts";
import { findToken, type TokenSource } from "../auth/token-source.ts";
import type { Role } from "../auth/verifier.ts";
import type { ProblemCode } from "../protocol/problems.ts";
import type { HttpContext } from "./context.ts";
import { headerValues } from "./header-values.ts";
import { sendProblem } from "./respond.ts";

/** Why a request was refused, with the RFC 6750 challenge to send. */
export interface AuthFailure {
  readonly code: ProblemCode;
  readonly detail: string;
  readonly headers: Record<string, string>;
}

export type Authentication =
  | { readonly kind: "anonymous" }
  | { readonly kind: "token"; readonly grants: Grants; readonly via: TokenSource }
  | { readonly kind: "refused"; readonly failure: AuthFailure };

/**
 * Finds and verifies the request's token. The Authorization header wins over the cookie; a
 * malformed presentation is `400 invalid_request`; a bad token is `401 invalid_token` whose
 * reason goes to the log only (telling the client why helps an attacker, not the client).
 */
export async function authenticate(
  req: IncomingMessage,
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
      return {
        kind: "refused",
        failure: { code: presentation.code, detail: presentation.reason, headers: {} },
      };
    case "malformed":
      return {
        kind: "refused",
        failure: {
          code: "token_malformed_request",
          detail: presentation.reason,
          headers: { "WWW-Authenticate": bearerChallenge({ error: "invalid_request", resourceMetadata }) },
        },
      };
    case "token":
      try {
        const grants = await context.verifier.verify(presentation.token, role);
        return { kind: "token", grants, via: presentation.via };
      } catch (error) {
        context.logger.info(
          { role, via: presentation.via, reason: (error as { reason?: string }).reason ?? String(error) },
          "access token refused",
        );
        return { kind: "refused", failure: invalidToken(resourceMetadata) };
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

export function missingToken(resourceMetadata: string, detail: string): AuthFailure {
  return {
    code: "token_missing",
    detail,
    headers: { "WWW-Authenticate": bearerChallenge({ resourceMetadata }) },
  };
}

export function invalidToken(resourceMetadata: string): AuthFailure {
  return {
    code: "token_invalid",
    detail: "the access token is invalid or expired",
    headers: { "WWW-Authenticate": bearerChallenge({ error: "invalid_token", resourceMetadata }) },
  };
}

export function insufficientScope(resourceMetadata: string, detail: string): AuthFailure {
  return {
    code: "insufficient_scope",
    detail,
    headers: { "WWW-Authenticate": bearerChallenge({ error: "insufficient_scope", resourceMetadata }) },
  };
}

/** Answers a refused request with its problem and RFC 6750 challenge. */
export function sendAuthFailure(
  res: ServerResponse,
  failure: AuthFailure,
  cors: Record<string, string>,
): void {
  sendProblem(res, failure.code, failure.detail, { ...cors, ...failure.headers });
}
