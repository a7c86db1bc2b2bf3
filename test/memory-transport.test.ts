import { MemoryTransport } from "../src/transports/memory.ts";
import { transportContract } from "./transport-contract.ts";

transportContract(
  "memory",
  (historySize, subscriptionHistorySize) => new MemoryTransport({ historySize, subscriptionHistorySize }),
);
