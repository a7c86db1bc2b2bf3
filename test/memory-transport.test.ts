import { MemoryTransport } from "../src/transports/memory.ts";
import { transportContract } from "./transport-contract.ts";

transportContract("memory", (historySize) => new MemoryTransport({ historySize }));
