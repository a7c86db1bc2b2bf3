import type { Logger } from "../hub/logger.ts";
import { silentLogger } from "../hub/logger.ts";
import { type HubServer, serveHub } from "../server/create-hub-server.ts";
import type { ServeConfig } from "./resolve-config.ts";

/** A hub started by `quicksilver serve`. */
export type RunningHub = HubServer;

/**
 * Starts the hub `quicksilver serve` resolved (its defaults applied, its checks passed, naming
 * options by their flags), then says once why the legacy dialect is on and what else to warn about.
 */
export async function startHub(config: ServeConfig, logger: Logger = silentLogger): Promise<RunningHub> {
  const running = await serveHub(config, { logger, name: (flag) => `--${flag}` });
  logStartupWarnings(config, logger);
  return running;
}

/** Once per start, once the configuration is accepted: why the legacy dialect is on, and the rest. */
export function logStartupWarnings(config: ServeConfig, logger: Logger): void {
  for (const reason of config.legacyReasons) {
    logger.warn({}, `legacy dialect on: ${reason}; set MERCURE_LEGACY=0 to refuse 0.x clients`);
  }
  for (const warning of config.warnings) logger.warn({}, warning);
}
