/**
 * A load test's subscriber process (forked by SubscriberPool): holds its share of the
 * subscribers on raw sockets (raw-subscriber.ts), every one a probe whose latencies go to one
 * histogram, and answers the coordinator's commands (subscriber-messages.ts).
 */
import { connect as connectTcp, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { LatencyHistogram } from "./latency-histogram.ts";
import { CONNECT_TIMEOUT_MS } from "./limits.ts";
import { RawSubscriber } from "./raw-subscriber.ts";
import type { OpenCommand, SubscriberCommand, SubscriberMessage } from "./subscriber-messages.ts";

/** Connections attempted at once, so that the hub's accept queue is not flooded. */
const WAVE = 500;

const subscribers: RawSubscriber[] = [];
const latencies = new LatencyHistogram();
const ignore = () => {};

/** Connects one subscriber and sends its request; resolves with the error that stopped it, if any. */
function openOne(command: OpenCommand): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket: Socket = command.tls
      ? connectTls({ host: command.host, port: command.port, servername: serverName(command.host) })
      : connectTcp({ host: command.host, port: command.port });
    socket.setNoDelay(true);
    // Without a bound, an address that drops packets holds a connect for minutes.
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error("connect timed out")));
    const subscriber = new RawSubscriber(socket, latencies, ignore);
    let connected = false;
    socket.once(command.tls ? "secureConnect" : "connect", () => {
      connected = true;
      socket.setTimeout(0);
      socket.write(command.request);
      subscribers.push(subscriber);
      resolve(undefined);
    });
    socket.on("error", (error) => {
      subscriber.closed = true;
      if (!connected) resolve(error.message);
    });
    socket.once("close", () => {
      subscriber.closed = true;
      if (!connected) resolve("connection closed");
    });
  });
}

/** TLS server names are host names: an IP address is not sent as one. */
function serverName(host: string): string | undefined {
  return /^[\d.]+$|:/.test(host) ? undefined : host;
}

async function open(command: OpenCommand): Promise<SubscriberMessage> {
  const errors: Record<string, number> = {};
  for (let start = 0; start < command.count; start += WAVE) {
    const wave = Array.from({ length: Math.min(WAVE, command.count - start) }, () => openOne(command));
    for (const error of await Promise.all(wave)) {
      if (error !== undefined) errors[error] = (errors[error] ?? 0) + 1;
    }
  }
  return { op: "open", connected: subscribers.length, errors };
}

function status(sequence: number): SubscriberMessage {
  let accepted = 0;
  let closedUnanswered = 0;
  let warm = 0;
  const refused: Record<string, number> = {};
  for (const subscriber of subscribers) {
    if (subscriber.statusLine === undefined) {
      if (subscriber.closed) closedUnanswered++;
      continue;
    }
    if (subscriber.accepted) {
      accepted++;
      if (subscriber.warmUp >= sequence) warm++;
      continue;
    }
    const line = subscriber.statusLine.replace(/^HTTP\/\S+ /, "");
    refused[line] = (refused[line] ?? 0) + 1;
  }
  return { op: "status", sockets: subscribers.length, accepted, refused, closedUnanswered, warm };
}

function report(): SubscriberMessage {
  let events = 0;
  let closedEarly = 0;
  for (const subscriber of subscribers) {
    if (!subscriber.accepted) continue;
    events += subscriber.events;
    if (subscriber.closed) closedEarly++;
  }
  return { op: "report", events, closedEarly, latencies: latencies.snapshot() };
}

const send = (message: SubscriberMessage) => process.send!(message);

process.on("message", (command: SubscriberCommand) => {
  switch (command.op) {
    case "open":
      void open(command).then(send);
      return;
    case "status":
      send(status(command.sequence));
      return;
    case "reset":
      for (const subscriber of subscribers) subscriber.events = 0;
      latencies.clear();
      send({ op: "reset" });
      return;
    case "report":
      send(report());
      return;
    case "close":
      for (const subscriber of subscribers) subscriber.socket.destroy();
      process.exit(0);
  }
});
// The coordinator gone, nothing is left to answer: end rather than hold the sockets.
process.on("disconnect", () => process.exit(0));
