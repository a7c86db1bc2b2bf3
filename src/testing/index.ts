/**
 * Test helpers for code built on Quicksilver: `transportContract` runs the suite every transport
 * must pass (see transport-contract.ts for how a transport of your own runs it).
 */
export { type TransportFactory, transportContract } from "./transport-contract.ts";
