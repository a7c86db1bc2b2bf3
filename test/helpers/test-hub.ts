import { mintToken } from "../../src/auth/mint.ts";
import { createVerifier, DEFAULT_VERIFIER_LIMITS, type TokenVerifier } from "../../src/auth/verifier.ts";
import { resolveServeConfig, type ServeConfig } from "../../src/cli/resolve-config.ts";
import { logStartupWarnings } from "../../src/cli/start-hub.ts";
import { type Logger, silentLogger } from "../../src/hub/logger.ts";
import { createHubServer, type HubServer } from "../../src/server/create-hub-server.ts";
import type { HubServerOptions } from "../../src/server/options.ts";

export const ISSUER = "https://app.test";
export const SECRET = "test-secret-that-is-long-enough-for-hs256!";

/** The verifier of a hub built from the library's parts: the test issuer, default limits. */
export function testVerifier(hubUrl: string): Promise<TokenVerifier> {
  return createVerifier({
    issuers: [{ issuer: ISSUER, publisher: { key: SECRET }, subscriber: { key: SECRET } }],
    resourceIdentifier: hubUrl,
    baseUrl: hubUrl,
    limits: { ...DEFAULT_VERIFIER_LIMITS },
  });
}

export interface TestHub extends HubServer {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** A publisher token granting publish (and optionally more). */
  token(grants: TokenGrants): Promise<string>;
}

export interface TokenGrants {
  publish?: string[];
  subscribe?: string[];
  publishUrlPattern?: string[];
  subscribeUrlPattern?: string[];
  payload?: unknown;
  ttlSeconds?: number;
  audience?: string | string[];
  issuer?: string;
  key?: string;
}

/**
 * Starts a real hub on 127.0.0.1, port 0, with an HMAC issuer. `flags` take the CLI's flag
 * names (`{ anonymous: true, "history-size": "10" }`), so tests configure it as users do; the
 * library's front door then starts it. The hub logs to `logger` (see captured-log.ts), and nowhere
 * by default.
 */
export async function startTestHub(
  flags: Record<string, string | boolean> = {},
  logger: Logger = silentLogger,
  library: Partial<HubServerOptions> = {},
): Promise<TestHub> {
  const config: ServeConfig = resolveServeConfig(
    {
      listen: "127.0.0.1:0",
      issuer: ISSUER,
      "publisher-key": SECRET,
      "log-level": "silent",
      transport: "memory",
      // Closing a test hub ends its streams at once, unless a test asks for the spread.
      "shutdown-spread": "0",
      ...flags,
    },
    {},
  );
  const running = await createHubServer({ ...config, logger, ...library });
  logStartupWarnings(config, logger);
  const address = running.server.address() as { port: number };
  return Object.assign(Object.create(null), running, {
    close: running.close,
    origin: `http://127.0.0.1:${address.port}`,
    token: (grants: TokenGrants) =>
      mintToken({
        issuer: grants.issuer ?? ISSUER,
        audience: grants.audience ?? running.resourceIdentifier,
        key: grants.key ?? SECRET,
        ...grants,
      }),
  }) as TestHub;
}

export interface PublishResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** POSTs a form to the hub. `fields` keeps order and repeats: `[["topic", "a"], ["topic", "b"]]`. */
export async function publish(
  hub: TestHub,
  fields: [string, string][] | Record<string, string>,
  init: { token?: string; headers?: Record<string, string> } = {},
): Promise<PublishResult> {
  const headers: Record<string, string> = {
    "Content-Type": "application/x-www-form-urlencoded",
    ...init.headers,
  };
  if (init.token !== undefined) headers.Authorization = `Bearer ${init.token}`;
  const response = await fetch(hub.hubUrl, {
    method: "POST",
    headers,
    body: new URLSearchParams(fields).toString(),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}
