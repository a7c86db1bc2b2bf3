import { fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { transportContract } from "../testing/transport-contract.ts";
import { IpcTransport } from "./ipc-transport.ts";
import type { Channel } from "./messages.ts";

const RELAY = fileURLToPath(new URL("../../test/fixtures/store-relay-process.ts", import.meta.url));

// The worker's transport against a store relay in a real child process, over a real IPC channel.
transportContract("worker IPC", async (historySize, subscriptionHistorySize) => {
  const child = fork(RELAY, [String(historySize), String(subscriptionHistorySize ?? "")], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const transport = await IpcTransport.open(child as unknown as Channel);
  const close = transport.close.bind(transport);
  transport.close = async () => {
    await close();
    const exited = once(child, "exit");
    child.disconnect();
    await exited;
  };
  return transport;
});
