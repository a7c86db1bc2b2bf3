/**
 * The legacy (pre-1.0 Mercure) dialect as real clients speak it: tokens with the `mercure` claim,
 * the `mercureAuthorization` cookie as Symfony sets it, and a hub started with `--legacy`.
 */
import * as jose from "jose";
import type { SseEvent } from "../../src/protocol/sse-parser.ts";
import { openStream, type Stream, subscribeUrl } from "./sse-client.ts";
import { SECRET, startTestHub, type TestHub } from "./test-hub.ts";

/** The cookie Symfony's `Authorization` sets and the old hub reads. */
export const LEGACY_COOKIE = "mercureAuthorization";

/** A real hub (startTestHub) with the legacy dialect on, beside draft-08. */
export function startLegacyHub(flags: Record<string, string | boolean> = {}): Promise<TestHub> {
  return startTestHub({ legacy: true, ...flags });
}

export interface LegacyGrants {
  /** Topic selectors: exact topics, URI templates (`https://example.com/books/{id}`) or `*`. */
  publish?: string[];
  subscribe?: string[];
  payload?: unknown;
  /** Seconds from now; none by default (legacy tokens often carry no `exp`). */
  ttlSeconds?: number;
}

/**
 * A legacy token as Symfony's LcobucciFactory or the old hub's docs make it: HS256 over the
 * configured secret, payload `{"mercure": {...}}`, no `typ`, `aud` nor `iss`.
 */
export async function legacyToken(grants: LegacyGrants, key: string = SECRET): Promise<string> {
  const mercure: Record<string, unknown> = {};
  if (grants.publish !== undefined) mercure.publish = grants.publish;
  if (grants.subscribe !== undefined) mercure.subscribe = grants.subscribe;
  if (grants.payload !== undefined) mercure.payload = grants.payload;
  const jwt = new jose.SignJWT({ mercure }).setProtectedHeader({ alg: "HS256" });
  if (grants.ttlSeconds !== undefined) jwt.setExpirationTime(`${grants.ttlSeconds}s`);
  return jwt.sign(new TextEncoder().encode(key));
}

/**
 * The `Set-Cookie` value symfony/mercure 0.6 (`Authorization::createCookie`, Debian's
 * php-symfony-mercure) produces for a session cookie (lifetime 0) when the application and the
 * hub share a host: no `Domain` (host-only), `Path` = the hub URL's path, `Secure` only for an
 * https hub, always HttpOnly and SameSite=Strict, serialized by HttpFoundation's `Cookie`
 * (lower-case attribute names, value percent-encoded). test/legacy-php.test.ts checks it against
 * the real component, byte for byte.
 */
export function symfonyAuthorizationCookie(token: string, hubUrl: string): string {
  const url = new URL(hubUrl);
  const secure = url.protocol === "http:" ? "" : "; secure";
  return `${LEGACY_COOKIE}=${encodeURIComponent(token)}; path=${url.pathname}${secure}; httponly; samesite=strict`;
}

/**
 * Subscribes with `topic=` (repeated, in order) and a token in `Authorization: Bearer`; a refusal
 * fails with the hub's answer.
 */
export async function openLegacyStream(hub: TestHub, topics: string[], token: string): Promise<Stream> {
  const stream = await openStream(
    subscribeUrl(
      hub.hubUrl,
      topics.map((topic) => ["topic", topic]),
    ),
    { headers: { Authorization: `Bearer ${token}` } },
  );
  if (stream.status !== 200) {
    throw new Error(`subscribing to ${topics.join(", ")} answered ${stream.status}: ${await stream.body}`);
  }
  return stream;
}

/**
 * The events of `stream` that came before the one with id `marker`, once the marker arrived:
 * the marker is published after the updates under test, so what a subscriber did not get by then
 * it was never sent (the hub delivers one subscriber's updates in publication order).
 */
export async function eventsBefore(stream: Stream, marker: string): Promise<SseEvent[]> {
  for (let count = 1; ; count++) {
    const events = await stream.waitForEvents(count);
    if (events[count - 1]?.id === marker) return events.slice(0, count - 1);
  }
}
