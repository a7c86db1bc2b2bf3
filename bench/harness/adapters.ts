/**
 * The hubs the harness knows by name. Any other Mercure hub is measured with externalAdapter
 * (external-adapter.ts), given its URL and start command.
 */
import { naiveAdapter } from "./naive-adapter.ts";
import { nchanAdapter } from "./nchan-adapter.ts";
import { quicksilverAdapter } from "./quicksilver-adapter.ts";
import type { Adapter } from "./target.ts";

export const ADAPTERS: Record<string, Adapter> = {
  quicksilver: quicksilverAdapter,
  nchan: nchanAdapter,
  naive: naiveAdapter,
};
