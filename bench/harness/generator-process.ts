/**
 * The commands a load-generator process answers, and the loop that answers them: every generator
 * (raw HTTP/1.1 sockets in generator.ts, HTTP/2 streams in h2-generator.ts) opens its
 * subscribers its own way and leaves the rest (heads, warm-up, counts, CPU share) to this loop,
 * so that the pool and the scenarios drive them alike.
 *
 * Before anything is measured the coordinator waits for every subscriber's response head
 * (`heads`), then for every subscriber to have seen the latest warm-up event (`warmth`): a
 * warm-up event's data starts with `w=<sequence>;`, and each subscriber keeps the highest
 * sequence it saw. A generator reports its own CPU use, and the coordinator refuses a run where
 * it saturated a core.
 */
import type { EventCounter } from "../../src/loadtest/event-counter.ts";

export type OpenCommand = {
  readonly op: "open";
  readonly port: number;
  /** The subscribe request heads: subscriber i sends `requests[i % requests.length]`. */
  readonly requests: readonly string[];
  readonly count: number;
  readonly addresses: readonly string[];
  readonly probes: number;
};

export type GeneratorCommand =
  | OpenCommand
  | { readonly op: "expect"; readonly perSocket: number }
  /** Answered at once with how many subscribers have their response head. */
  | { readonly op: "heads" }
  /** Answered at once with how many subscribers saw warm-up event `sequence` or a later one. */
  | { readonly op: "warmth"; readonly sequence: number }
  | { readonly op: "report" }
  /** Reports, then starts counting from zero (after a warm-up). */
  | { readonly op: "reset" }
  | { readonly op: "close" };

export type GeneratorMessage =
  | {
      readonly op: "opened";
      readonly connected: number;
      readonly failed: number;
      readonly firstError?: string;
      /** The subscribers connected by this open, by the source address the kernel bound them to. */
      readonly bySourceAddress: Record<string, number>;
    }
  | { readonly op: "complete" }
  | {
      readonly op: "heads";
      readonly sockets: number;
      /** Subscribers whose status line arrived, whatever the status. */
      readonly answered: number;
      /** Subscribers answered with another status than 200. */
      readonly refused: number;
      /** The first refusal's status line. */
      readonly firstRefusal?: string;
      /** Subscribers closed before their status line arrived. */
      readonly closedUnanswered: number;
    }
  | { readonly op: "warmth"; readonly sockets: number; readonly seen: number }
  | {
      readonly op: "report";
      readonly sockets: number;
      readonly events: number;
      readonly minPerSocket: number;
      readonly maxPerSocket: number;
      readonly closedEarly: number;
      /** Publish-to-deliver latencies seen by the probes (ms). */
      readonly latencies: number[];
      /** CPU time over wall time since the sockets were opened (1 = one core saturated). */
      readonly cpuShare: number;
    };

/** What a generator gives its `open`: where connected subscribers go, and how they count. */
export interface OpenContext {
  /** Each subscriber is pushed here once connected (its request sent). */
  readonly subscribers: EventCounter[];
  /** The probes' latencies (pass it to the first `command.probes` subscribers). */
  readonly latencies: number[];
  readonly onEvent: (subscriber: EventCounter) => void;
}

export interface OpenOutcome {
  readonly failed: number;
  readonly firstError?: string;
  readonly bySourceAddress: Record<string, number>;
}

export interface Generator {
  open(command: OpenCommand, context: OpenContext): Promise<OpenOutcome>;
  /** Drops every connection, at once (the process exits right after). */
  close(): void;
}

/** Answers the coordinator's commands for `generator` until told to close. */
export function serveGenerator(generator: Generator): void {
  const subscribers: EventCounter[] = [];
  const latencies: number[] = [];
  let expected = Number.POSITIVE_INFINITY;
  let complete = 0;
  let cpuStart = process.cpuUsage();
  let wallStart = performance.now();

  const send = (message: GeneratorMessage) => process.send!(message);
  const onEvent = (subscriber: EventCounter) => {
    if (subscriber.events === expected && ++complete === subscribers.length) send({ op: "complete" });
  };

  async function open(command: OpenCommand): Promise<void> {
    const outcome = await generator.open(command, { subscribers, latencies, onEvent });
    cpuStart = process.cpuUsage();
    wallStart = performance.now();
    send({ op: "opened", connected: subscribers.length, ...outcome });
  }

  function heads(): void {
    let answered = 0;
    let refused = 0;
    let closedUnanswered = 0;
    let firstRefusal: string | undefined;
    for (const subscriber of subscribers) {
      if (subscriber.statusLine === undefined) {
        if (subscriber.closed) closedUnanswered++;
        continue;
      }
      answered++;
      if (!subscriber.accepted) {
        refused++;
        firstRefusal ??= subscriber.statusLine;
      }
    }
    send({
      op: "heads",
      sockets: subscribers.length,
      answered,
      refused,
      closedUnanswered,
      ...(firstRefusal === undefined ? {} : { firstRefusal }),
    });
  }

  function report(): void {
    const cpu = process.cpuUsage(cpuStart);
    const wallMicros = (performance.now() - wallStart) * 1000;
    let events = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (const subscriber of subscribers) {
      events += subscriber.events;
      min = Math.min(min, subscriber.events);
      max = Math.max(max, subscriber.events);
    }
    send({
      op: "report",
      sockets: subscribers.length,
      events,
      minPerSocket: subscribers.length === 0 ? 0 : min,
      maxPerSocket: max,
      closedEarly: subscribers.filter((s) => s.closed).length,
      latencies: latencies.splice(0),
      cpuShare: (cpu.user + cpu.system) / wallMicros,
    });
  }

  process.on("message", (command: GeneratorCommand) => {
    switch (command.op) {
      case "open":
        void open(command);
        return;
      case "expect":
        expected = command.perSocket;
        complete = subscribers.filter((s) => s.events >= expected).length;
        if (complete === subscribers.length) send({ op: "complete" });
        return;
      case "heads":
        heads();
        return;
      case "warmth": {
        const seen = subscribers.filter((s) => s.warmUp >= command.sequence).length;
        send({ op: "warmth", sockets: subscribers.length, seen });
        return;
      }
      case "report":
        report();
        return;
      case "reset":
        report();
        for (const subscriber of subscribers) subscriber.events = 0;
        expected = Number.POSITIVE_INFINITY;
        complete = 0;
        return;
      case "close":
        generator.close();
        process.exit(0);
    }
  });
}
