import { randomUUID } from "node:crypto";
import { after, before } from "node:test";
import { transportContract } from "../src/testing/index.ts";
import { RedisTransport } from "../src/transports/redis.ts";
import { type RedisServer, startRedisServer } from "./helpers/redis-server.ts";

let redis: RedisServer;
before(async () => {
  redis = await startRedisServer();
});
after(() => redis.stop());

// One redis-server for the suite, each test under a fresh key prefix: an empty history.
transportContract("redis", (historySize, subscriptionHistorySize) =>
  RedisTransport.open({
    url: redis.url,
    keyPrefix: `{test-${randomUUID()}}`,
    retention: { maxCount: historySize },
    subscriptionHistorySize,
  }),
);
