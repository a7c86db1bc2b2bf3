import { readFileSync } from "node:fs";
import type { TokenVerifier } from "../auth/verifier.ts";
import type { HttpOptions, UiOptions } from "../http/options.ts";
import { hubPathOf } from "../http/router.ts";
import { loadUiFiles } from "../http/ui-files.ts";
import { Hub } from "../hub/hub.ts";
import type { Logger } from "../hub/logger.ts";
import { reportsHistorySize, type Transport } from "../hub/transport.ts";
import { configuredVerifier } from "./config-verifier.ts";
import { openTransport } from "./open-transport.ts";
import type { HubServerConfig } from "./options.ts";
import { type OptionNamer, originAllowlists, trustedProxiesOf } from "./resolve-options.ts";

/** A hub ready to answer HTTP: what `createContext(hub, verifier, httpOptions)` takes. */
export interface AssembledHub {
  readonly hub: Hub;
  readonly verifier: TokenVerifier;
  readonly transport: Transport;
  readonly httpOptions: HttpOptions;
}

/**
 * Builds, from resolved options and the hub's URL, the token verifier, the transport (unless one is
 * given), the hub and the HTTP layer's options. A hub on its own server (`createHubServer`) and one
 * mounted in an application's server (`createHubHandler`) are built alike.
 */
export async function assembleHub(
  config: HubServerConfig,
  how: { hubUrl: string; logger: Logger; transport?: Transport | undefined; name: OptionNamer },
): Promise<AssembledHub> {
  const { hubUrl, logger } = how;
  const resourceIdentifier = config.resourceIdentifier ?? hubUrl;
  const verifier = await configuredVerifier(config, hubUrl, resourceIdentifier);
  const transport =
    how.transport ?? (await openTransport(config.history, config.subscriptionHistorySize, logger));
  const hub = new Hub(transport, {
    ...config.streams,
    ...(config.subscriptions ? { subscriptions: { hubPath: hubPathOf(hubUrl) } } : {}),
    logger,
    requestLogLevel: config.requestLogLevel,
  });
  const { corsOrigins, publishOrigins } = originAllowlists(config, how.name);
  const httpOptions: HttpOptions = {
    hubUrl,
    resourceIdentifier,
    anonymous: config.anonymous,
    corsOrigins,
    publishOrigins,
    cookieName: config.cookieName,
    legacy: config.legacy,
    authorizationServers: config.authorizationServers,
    limits: config.limits,
    trustedProxies: trustedProxiesOf(config, how.name),
    logger,
    requestLogLevel: config.requestLogLevel,
    ...(config.ui ? { ui: uiOptions(config, transport, how.transport !== undefined) } : {}),
  };
  return { hub, verifier, transport, httpOptions };
}

/** What the web page is served with: its files, read now, and what its status reports. */
function uiOptions(config: HubServerConfig, transport: Transport, given: boolean): UiOptions {
  return {
    files: loadUiFiles(),
    dev: config.dev === true,
    devTokens: config.dev === true ? config.devTokens : undefined,
    version: packageVersion(),
    transport: given ? "custom" : config.history.transport,
    historySize: reportsHistorySize(transport) ? () => transport.historySize() : undefined,
  };
}

/** The package's version, from its manifest two levels up (from src/server/ as from dist/server/). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return String(manifest.version);
}
