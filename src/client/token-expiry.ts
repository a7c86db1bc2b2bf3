/**
 * When a JWT expires, read from its payload's `exp` without verifying it (the hub verifies; the
 * client only needs to know when to fetch a fresh one). Undefined for anything that is not a JWS
 * in compact form with a numeric `exp`.
 */
export function tokenExpiresAt(token: string): number | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const base64 = parts[1]!.replaceAll("-", "+").replaceAll("_", "/");
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="));
    const json = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How long before `expiresAt` to reconnect with a fresh token: half of what is left, at most 30
 * seconds. The hub closes a stream at its token's `exp` (up to a second early) and refuses a
 * token already past it, so the fresh token must be in use before then, with room for a slow
 * `getToken` and a busy event loop; only short-lived tokens renew at half their life.
 */
export function refreshDelay(expiresAt: number, now: number): number {
  const left = expiresAt - now;
  return Math.max(0, left - Math.min(30_000, left / 2));
}
