/**
 * h2fanout: the fan-out cases, measured over HTTP/1.1 and then over HTTP/2 against the same hub
 * (started with `--h2c`), side by side, with the ratio HTTP/2 / HTTP/1.1. Over HTTP/1.1 each
 * subscriber has its own connection; over HTTP/2, as in a browser, `streamsPerSession`
 * subscribers share one session. Everything else (publishing, warm-up, counting, what makes a
 * run invalid) is fanout's.
 *
 * Quicksilver only: Nchan and the reference Go hub speak HTTP/2 only over TLS or behind a proxy,
 * and the naive hub only HTTP/1.1.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { HTTP1 } from "../harness/generator-pool.ts";
import { sample } from "../harness/proc-sampler.ts";
import type { Rig, Scenario } from "../harness/scenario.ts";
import { round } from "../harness/stats.ts";
import type { Target } from "../harness/target.ts";
import { type FanoutCase, type FanoutResult, fanout, runFanout } from "./fanout.ts";

export interface H2FanoutCase extends FanoutCase {
  /** HTTP/2 streams on one session (a browser page's EventSources to one origin). */
  readonly streamsPerSession: number;
}

export interface H2FanoutResult {
  readonly case: H2FanoutCase;
  readonly http1: FanoutResult;
  readonly h2: FanoutResult;
  /** HTTP/2's figure over HTTP/1.1's, for each compared figure. */
  readonly ratio: {
    readonly deliveriesPerSecond: number;
    readonly hubCpuMicrosPerDelivery: number;
    readonly publishP99: number;
    readonly deliverP99: number;
  };
  readonly invalid?: string;
}

/** As many streams as the hub allows on one session by default (`--max-streams-per-connection`). */
export const STREAMS_PER_SESSION = 100;

/** How long the hub has to close the first protocol's connections before the second is measured. */
const RELEASE_TIMEOUT_MS = 30_000;

const percent = (share: number) => `${round(share * 100)}%`;
const ratio = (h2: number, http1: number) => round(h2 / http1, 2);

export const h2fanout: Scenario<H2FanoutCase, H2FanoutResult> = {
  name: "h2fanout",
  summary: "fanout over HTTP/1.1 and over HTTP/2 (100 streams a session) against one hub, side by side",
  cases: (quick) => fanout.cases(quick).map((c) => ({ ...c, streamsPerSession: STREAMS_PER_SESSION })),
  hubs: {
    names: ["quicksilver"],
    reason:
      "Nchan and the reference hub speak HTTP/2 only over TLS or behind a proxy, the naive hub not at all",
  },
  label: (c) => `${c.subscribers.toLocaleString("en")} subscribers, ${c.bytes} B`,
  hubOptions: () => ({ h2c: true }),
  run: runH2Fanout,
  headline: { label: "HTTP/2 deliveries/s", value: (r) => r.h2.deliveriesPerSecond, higherIsBetter: true },
  columns: [
    { header: "HTTP/1.1 deliveries/s", value: (r) => r.http1.deliveriesPerSecond },
    { header: "deliveries/s h2/h1", value: (r) => r.ratio.deliveriesPerSecond },
    {
      header: "hub CPU µs/delivery h1 / h2",
      value: (r) => `${r.http1.hubCpuMicrosPerDelivery} / ${r.h2.hubCpuMicrosPerDelivery}`,
    },
    { header: "CPU h2/h1", value: (r) => r.ratio.hubCpuMicrosPerDelivery },
    { header: "events/write h1 / h2", value: (r) => `${r.http1.eventsPerWrite} / ${r.h2.eventsPerWrite}` },
    { header: "publish p99 ms h1 / h2", value: (r) => `${r.http1.publish.p99} / ${r.h2.publish.p99}` },
    { header: "deliver p99 ms h1 / h2", value: (r) => `${r.http1.deliver.p99} / ${r.h2.deliver.p99}` },
    {
      header: "hub core busy / waited h1; h2",
      value: (r) =>
        `${percent(r.http1.hubCpuShare)} / ${percent(r.http1.hubWaitShare)}; ${percent(r.h2.hubCpuShare)} / ${percent(r.h2.hubWaitShare)}`,
    },
    {
      header: "client core h1 / h2",
      value: (r) => `${round(r.http1.generatorCpuShare * 100)}% / ${round(r.h2.generatorCpuShare * 100)}%`,
    },
  ],
  latency: (r) => r.h2.deliver,
};

async function runH2Fanout(target: Target, c: H2FanoutCase, rig: Rig): Promise<H2FanoutResult> {
  const idleDescriptors = sample(target.pid).fds;
  const http1 = await runFanout(target, c, rig, HTTP1);
  await released(target.pid, idleDescriptors);
  const h2 = await runFanout(target, c, rig, { name: "h2", streamsPerSession: c.streamsPerSession });
  const problems = [
    ...(http1.invalid === undefined ? [] : [`HTTP/1.1: ${http1.invalid}`]),
    ...(h2.invalid === undefined ? [] : [`HTTP/2: ${h2.invalid}`]),
  ];
  return {
    case: c,
    http1,
    h2,
    ratio: {
      deliveriesPerSecond: ratio(h2.deliveriesPerSecond, http1.deliveriesPerSecond),
      hubCpuMicrosPerDelivery: ratio(h2.hubCpuMicrosPerDelivery, http1.hubCpuMicrosPerDelivery),
      publishP99: ratio(h2.publish.p99, http1.publish.p99),
      deliverP99: ratio(h2.deliver.p99, http1.deliver.p99),
    },
    ...(problems.length > 0 ? { invalid: problems.join("; ") } : {}),
  };
}

/**
 * Resolves once the hub holds no more descriptors than before the first subscribers came (a few
 * more allowed, for the publisher's connections): the second protocol is not measured while the
 * hub is still closing the first one's streams.
 */
async function released(pid: number, idleDescriptors: number): Promise<void> {
  const deadline = performance.now() + RELEASE_TIMEOUT_MS;
  let fds = sample(pid).fds;
  while (fds > idleDescriptors + 32) {
    if (performance.now() > deadline)
      throw new Error(
        `the hub still held ${fds} descriptors ${RELEASE_TIMEOUT_MS / 1000} s after its subscribers left`,
      );
    await sleep(50);
    fds = sample(pid).fds;
  }
}
