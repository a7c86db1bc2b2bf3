/**
 * One load test against a Mercure hub, from start to report: checks that the hub takes the
 * publisher, opens the subscribers, warms them up, publishes on schedule, waits for the
 * deliveries, and adds up what the subscribers counted. It speaks only the Mercure protocol, so
 * any hub can be tested; the tokens are the user's and appear nowhere in the report.
 */
import { STATUS_CODES } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DRAIN_TIMEOUT_MS,
  HEADS_TIMEOUT_MS,
  MAX_PUBLISHES_IN_FLIGHT,
  WARM_UP_ATTEMPTS,
  WARM_UP_WAIT_MS,
} from "./limits.ts";
import { pace } from "./pace.ts";
import { stampedData, warmUpData } from "./stamps.ts";
import { type SubscribeDialect, subscribeRequest } from "./subscribe-request.ts";
import { type PoolStatus, SubscriberPool } from "./subscriber-pool.ts";
import { type PublishOutcome, UpdatePublisher } from "./update-publisher.ts";

/** What to run (checked against limits.ts by the command line). */
export interface LoadtestOptions {
  /** The hub URL, where subscribers connect and updates are published. */
  readonly hub: URL;
  readonly subscribers: number;
  /** Updates per second. */
  readonly rate: number;
  readonly durationMs: number;
  readonly topic: string;
  /** The size of each update's data (bytes). */
  readonly dataBytes: number;
  readonly publisherToken?: string;
  readonly subscriberToken?: string;
  /** `draft`: subscribe with `match=`; `legacy`: with `topic=`. */
  readonly dialect: SubscribeDialect;
  /** Subscriber processes. */
  readonly processes: number;
}

/** Everything a run measured. */
export interface LoadtestReport {
  readonly hub: string;
  readonly topic: string;
  readonly dialect: SubscribeDialect;
  readonly subscribers: {
    readonly requested: number;
    /** Connections opened (whatever the hub answered). */
    readonly connected: number;
    /** Answered 200: these receive the updates. */
    readonly accepted: number;
    /** Answered another status, by status. */
    readonly refused: Record<string, number>;
    /** Could not connect, by error. */
    readonly failed: Record<string, number>;
    /** Connected but never answered (closed, or still silent when the run began). */
    readonly unanswered: number;
    /** Accepted, but their stream ended before the run did. */
    readonly closedEarly: number;
  };
  readonly updates: {
    readonly rate: number;
    readonly durationSeconds: number;
    readonly dataBytes: number;
    readonly sent: number;
    /** Answered 2xx. */
    readonly acknowledged: number;
    readonly failed: number;
    /** Failed publishes, by status or error. */
    readonly failures: Record<string, number>;
  };
  readonly deliveries: {
    /** Accepted subscribers × acknowledged updates. */
    readonly expected: number;
    readonly received: number;
    /** From the first publish to the last delivery counted. */
    readonly perSecond: number;
  };
  /** Publish to receipt, over every delivery (ms); null when nothing was delivered. */
  readonly latencyMs: {
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  } | null;
  /** What went wrong, one sentence each; empty when nothing did. */
  readonly errors: string[];
}

/** Why a run could not even start: the exit status 1 cases. */
export interface LoadtestAbort {
  readonly code: "hub_unreachable" | "publisher_refused";
  readonly message: string;
}

/** How often the coordinator asks the subscriber processes how far they are (ms). */
const POLL_MS = 50;

/** Runs the test; `progress` hears what it is doing (for a terminal). */
export async function runLoadtest(
  options: LoadtestOptions,
  progress: (line: string) => void = () => {},
): Promise<LoadtestReport | LoadtestAbort> {
  const publisher = new UpdatePublisher(options.hub, options.publisherToken);
  try {
    const first = await publisher.send(options.topic, warmUpData(0, options.dataBytes));
    if ("error" in first) {
      return { code: "hub_unreachable", message: `cannot reach ${display(options.hub)}: ${first.error}` };
    }
    if (first.status < 200 || first.status >= 300) {
      return {
        code: "publisher_refused",
        message: `${display(options.hub)} refused the publisher: ${statusText(first.status)}`,
      };
    }
    return await measure(options, publisher, progress);
  } finally {
    publisher.close();
  }
}

async function measure(
  options: LoadtestOptions,
  publisher: UpdatePublisher,
  progress: (line: string) => void,
): Promise<LoadtestReport> {
  const { hub } = options;
  const port = Number(hub.port || (hub.protocol === "https:" ? 443 : 80));
  const request = subscribeRequest(
    {
      port,
      path: hub.pathname,
      authority: hub.host,
      ...(options.subscriberToken === undefined ? {} : { token: options.subscriberToken }),
    },
    options.dialect,
    options.topic,
  );
  const errors: string[] = [];
  const pool = SubscriberPool.start(options.processes);
  try {
    progress(`opening ${options.subscribers} subscribers`);
    const opened = await pool.open(
      { host: hub.hostname.replace(/^\[|\]$/g, ""), port, tls: hub.protocol === "https:", request },
      options.subscribers,
    );
    for (const [error, count] of Object.entries(opened.errors))
      errors.push(`${count} subscriber(s) could not connect: ${error}`);

    let status = await waitForHeads(pool);
    for (const [line, count] of Object.entries(status.refused))
      errors.push(`${count} subscriber(s) refused: ${line}`);
    const unanswered = status.sockets - status.accepted - sumOf(status.refused);
    if (unanswered > 0) errors.push(`${unanswered} subscriber(s) got no response status line`);

    if (status.accepted > 0) {
      progress(`warming up ${status.accepted} subscribers`);
      status = await warmUp(pool, publisher, options, status, errors);
    }
    await pool.reset();

    const count = Math.round((options.rate * options.durationMs) / 1000);
    progress(`publishing ${count} updates at ${options.rate}/s`);
    const failures: Record<string, number> = {};
    let acknowledged = 0;
    let inFlight = 0;
    const started = performance.now();
    await pace(count, options.rate, async () => {
      let outcome: PublishOutcome = {
        error: `not sent: ${MAX_PUBLISHES_IN_FLIGHT} publishes unanswered (MAX_PUBLISHES_IN_FLIGHT)`,
      };
      if (inFlight < MAX_PUBLISHES_IN_FLIGHT) {
        inFlight++;
        outcome = await publisher.send(options.topic, stampedData(options.dataBytes));
        inFlight--;
      }
      if (acknowledgedOutcome(outcome)) acknowledged++;
      else {
        const key = "error" in outcome ? outcome.error : statusText(outcome.status);
        failures[key] = (failures[key] ?? 0) + 1;
      }
    });
    for (const [failure, times] of Object.entries(failures))
      errors.push(`${times} publish(es) failed: ${failure}`);

    const expected = status.accepted * acknowledged;
    progress("waiting for the last deliveries");
    let report = await pool.report();
    let lastDelivery = performance.now();
    const deadline = performance.now() + DRAIN_TIMEOUT_MS;
    let received = report.events;
    while (report.events < expected && performance.now() < deadline) {
      await sleep(POLL_MS);
      report = await pool.report();
      if (report.events > received) lastDelivery = performance.now();
      received = report.events;
    }
    if (report.events < expected)
      errors.push(
        `${expected - report.events} of ${expected} deliveries missing ${DRAIN_TIMEOUT_MS / 1000} s after the last publish`,
      );
    if (report.closedEarly > 0)
      errors.push(`${report.closedEarly} subscriber stream(s) ended during the run`);

    const seconds = (lastDelivery - started) / 1000;
    const latencies = report.latencies;
    return {
      hub: display(hub),
      topic: options.topic,
      dialect: options.dialect,
      subscribers: {
        requested: options.subscribers,
        connected: opened.connected,
        accepted: status.accepted,
        refused: status.refused,
        failed: opened.errors,
        unanswered,
        closedEarly: report.closedEarly,
      },
      updates: {
        rate: options.rate,
        durationSeconds: options.durationMs / 1000,
        dataBytes: options.dataBytes,
        sent: count,
        acknowledged,
        failed: count - acknowledged,
        failures,
      },
      deliveries: {
        expected,
        received: report.events,
        perSecond: seconds > 0 ? Math.round(report.events / seconds) : 0,
      },
      latencyMs:
        latencies.count === 0
          ? null
          : {
              p50: round(latencies.percentile(50)),
              p90: round(latencies.percentile(90)),
              p99: round(latencies.percentile(99)),
              max: round(latencies.max),
            },
      errors,
    };
  } finally {
    await pool.close();
  }
}

/** Waits until every connected subscriber has its status line, or HEADS_TIMEOUT_MS. */
async function waitForHeads(pool: SubscriberPool): Promise<PoolStatus> {
  const deadline = performance.now() + HEADS_TIMEOUT_MS;
  for (;;) {
    const status = await pool.status();
    const answered = status.accepted + sumOf(status.refused) + status.closedUnanswered;
    if (answered >= status.sockets || performance.now() > deadline) return status;
    await sleep(POLL_MS);
  }
}

/**
 * Publishes warm-up events one after the other until every accepted subscriber saw the latest:
 * a hub may register a stream after its status line, and an update published before would be
 * counted missing. Once every subscriber has the latest, no earlier one is still on its way
 * (a stream delivers in order), so none is counted as a measured update. Measures anyway after
 * WARM_UP_ATTEMPTS, saying so.
 */
async function warmUp(
  pool: SubscriberPool,
  publisher: UpdatePublisher,
  options: LoadtestOptions,
  status: PoolStatus,
  errors: string[],
): Promise<PoolStatus> {
  let latest = status;
  for (let sequence = 1; sequence <= WARM_UP_ATTEMPTS; sequence++) {
    const outcome = await publisher.send(options.topic, warmUpData(sequence, options.dataBytes));
    if (!acknowledgedOutcome(outcome)) continue;
    const deadline = performance.now() + WARM_UP_WAIT_MS;
    for (;;) {
      latest = await pool.status(sequence);
      if (latest.warm >= latest.accepted) return latest;
      if (performance.now() > deadline) break;
      await sleep(POLL_MS);
    }
  }
  errors.push(
    `${latest.warm} of ${latest.accepted} subscribers received the last of ${WARM_UP_ATTEMPTS} warm-up updates`,
  );
  return latest;
}

function acknowledgedOutcome(outcome: PublishOutcome): boolean {
  return "status" in outcome && outcome.status >= 200 && outcome.status < 300;
}

/** `401 Unauthorized`. */
function statusText(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ""}`.trim();
}

/** The hub URL as shown: no user information, which could hold a secret. */
function display(hub: URL): string {
  return `${hub.protocol}//${hub.host}${hub.pathname}`;
}

function sumOf(counts: Readonly<Record<string, number>>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
