import type { Logger } from "../hub/logger.ts";
import type { Transport } from "../hub/transport.ts";
import { MemoryTransport } from "../transports/memory.ts";
import { RedisTransport } from "../transports/redis.ts";
import { SqliteTransport } from "../transports/sqlite.ts";
import type { HistoryConfig } from "./options.ts";

/** The one place a built-in transport is chosen. */
export async function openTransport(
  history: HistoryConfig,
  subscriptionHistorySize: number,
  logger: Logger,
): Promise<Transport> {
  switch (history.transport) {
    case "none":
      return new MemoryTransport({ historySize: 0, subscriptionHistorySize });
    case "memory":
      return new MemoryTransport({ historySize: history.maxCount, subscriptionHistorySize });
    case "sqlite":
      return new SqliteTransport({
        path: history.path,
        subscriptionHistorySize,
        retention: { maxCount: history.maxCount, maxAgeMs: history.maxAgeMs, maxBytes: history.maxBytes },
        durability: history.durability,
        logger,
      });
    case "redis":
      return RedisTransport.open({
        url: history.url,
        keyPrefix: history.keyPrefix,
        subscriptionHistorySize,
        retention: { maxCount: history.maxCount, maxAgeMs: history.maxAgeMs, maxBytes: history.maxBytes },
        leaseMs: history.leaseMs,
        logger,
      });
  }
}
