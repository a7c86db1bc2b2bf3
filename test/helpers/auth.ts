import { createHmac, randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { request } from "node:http";
import * as jose from "jose";

export const MERCURE_DETAIL = "https://mercure.rocks/authorization-detail";

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body; empty for an event stream, which is closed as soon as its head arrived. */
  readonly body: string;
}

/**
 * One request over `node:http`, which sends exactly the headers given: header arrays become
 * repeated lines (two `Authorization` headers), and `Origin`, `Referer` and `Cookie` go out as
 * written. An event-stream response resolves on its head and is closed.
 */
export function rawRequest(
  url: string | URL,
  init: { method?: string; headers?: OutgoingHttpHeaders; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? "GET", headers: init.headers }, (res) => {
      const status = res.statusCode ?? 0;
      if ((res.headers["content-type"] ?? "").startsWith("text/event-stream")) {
        resolve({ status, headers: res.headers, body: "" });
        req.destroy();
        return;
      }
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

/** The headers of a form POST, plus `extra`. */
export function formHeaders(extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return { "Content-Type": "application/x-www-form-urlencoded", ...extra };
}

export interface Challenge {
  readonly scheme: string;
  readonly params: Record<string, string>;
}

/** Parses one RFC 9110 challenge: `Scheme name="quoted", name=token`. */
export function parseChallenge(header: string | undefined): Challenge {
  if (header === undefined) throw new Error("no WWW-Authenticate header");
  const scheme = /^([^\s,]+)\s*/.exec(header);
  if (scheme === null) throw new Error(`not a challenge: ${header}`);
  const params: Record<string, string> = {};
  let rest = header.slice(scheme[0].length);
  const param =
    /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([!#$%&'*+.^_`|~0-9A-Za-z-]+))\s*(?:,\s*|$)/;
  while (rest !== "") {
    const found = param.exec(rest);
    if (found === null) throw new Error(`cannot parse the challenge parameters: ${rest}`);
    const name = (found[1] as string).toLowerCase();
    if (Object.hasOwn(params, name)) throw new Error(`parameter ${name} repeated in ${header}`);
    params[name] = found[2] !== undefined ? found[2].replace(/\\(.)/g, "$1") : (found[3] as string);
    rest = rest.slice(found[0].length);
  }
  return { scheme: scheme[1] as string, params };
}

/** A Mercure authorization detail. */
export function detail(actions: unknown, topics: unknown, extra: Record<string, unknown> = {}): object {
  return { type: MERCURE_DETAIL, actions, topics, ...extra };
}

/** The claims RFC 9068 asks an issuer to populate, with `authorization_details`; `overrides` win. */
export function accessClaims(
  issuer: string,
  audience: string | string[],
  authorizationDetails: unknown,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer,
    aud: audience,
    sub: `urn:uuid:${randomUUID()}`,
    client_id: issuer,
    iat: now,
    exp: now + 600,
    jti: `urn:uuid:${randomUUID()}`,
    authorization_details: authorizationDetails,
    ...overrides,
  };
}

/**
 * Signs `claims` exactly as given (a key set to `undefined` in `claims` is left out), with the
 * protected header as given: for deliberately bad tokens that `mintToken` would never produce.
 */
export async function signJwt(
  header: jose.JWTHeaderParameters,
  claims: Record<string, unknown>,
  key: Uint8Array | jose.CryptoKey | jose.KeyObject,
): Promise<string> {
  return new jose.SignJWT(withoutUndefined(claims)).setProtectedHeader(header).sign(key);
}

/**
 * An HS256 JWS built by hand, for headers jose refuses to sign (an unknown `crit` extension).
 */
export function hs256Jwt(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  key: string,
): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part({ alg: "HS256", ...header })}.${part(withoutUndefined(claims))}`;
  return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`;
}

/** An unsecured JWS (`alg: none`, empty signature): RFC 7519 section 6. */
export function unsignedJwt(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part(header)}.${part(withoutUndefined(claims))}.`;
}

function withoutUndefined(claims: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
}
