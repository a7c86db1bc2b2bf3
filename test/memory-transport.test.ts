import { transportContract } from "../src/testing/index.ts";
import { MemoryTransport } from "../src/transports/memory.ts";

transportContract(
  "memory",
  (historySize, subscriptionHistorySize) => new MemoryTransport({ historySize, subscriptionHistorySize }),
);
