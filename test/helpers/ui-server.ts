/**
 * A hub serving its debug page (ui/) under `{hubPath}/ui/`, as `--ui` does, for the page's tests
 * and screenshots. With `dev`, it mints development tokens with the test issuer's key (as `--dev`
 * does with its own) and answers its status without a token.
 */
import type { Logger } from "../../src/hub/logger.ts";
import { silentLogger } from "../../src/hub/logger.ts";
import { ISSUER, SECRET, startTestHub, type TestHub } from "./test-hub.ts";

export interface UiServer {
  readonly hub: TestHub;
  /** `http://127.0.0.1:<port>`: the page's and the hub's origin. */
  readonly origin: string;
  /** The page's URL. */
  readonly pageUrl: string;
  /** The hub's URL on that origin. */
  readonly hubUrl: string;
  close(): Promise<void>;
}

export async function startUiHub(options: {
  dev: boolean;
  flags?: Record<string, string | boolean>;
  logger?: Logger;
}): Promise<UiServer> {
  const hub = await startTestHub(
    { ui: true, ...options.flags },
    options.logger ?? silentLogger,
    options.dev ? { dev: true, devTokens: { issuer: ISSUER, key: SECRET } } : {},
  );
  return {
    hub,
    origin: hub.origin,
    pageUrl: `${hub.hubUrl}/ui/`,
    hubUrl: hub.hubUrl,
    close: () => hub.close(),
  };
}
