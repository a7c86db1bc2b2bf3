/**
 * routing: many subscribers, each on its own exact topic, plus URL Pattern subscribers that match
 * none of the published topics; events go to one topic at a time at a steady rate. What a publish
 * costs the hub should follow the subscribers it reaches (one here), not all it holds.
 *
 * Two phases, with every subscriber connected: cold (each topic published for the first time)
 * and warm (the same topics again). At this rate the hub is idle between two publishes, and each
 * publish pays for an HTTP request reaching an idle process (waking up, cold caches) on top of
 * its routing: with no subscriber at all, Quicksilver spends about 200 µs of CPU per publish at
 * 500/s, Nchan about 70. So each phase alternates blocks of its publishes with blocks of the same
 * size to topics nobody subscribes to (already seen, so no pattern is evaluated for them), and
 * reports the difference: what finding the one subscriber among all the others, and writing the
 * event to it, adds to a publish. Alternating blocks, rather than a baseline measured apart, keeps
 * everything else equal: the heap, the heartbeats and sweeps of 11,000 streams, the machine's
 * other load. Noise can still make the difference slightly negative.
 */
import { SOCKETS_PER_GENERATOR } from "../harness/generator-pool.ts";
import { sample } from "../harness/proc-sampler.ts";
import { Publisher } from "../harness/publisher.ts";
import type { Rig, Scenario, ScenarioResult } from "../harness/scenario.ts";
import { type LatencySummary, latencySummary, round } from "../harness/stats.ts";
import type { Target } from "../harness/target.ts";

export interface RoutingCase {
  readonly exactSubscribers: number;
  readonly patternSubscribers: number;
  /** Distinct topics published, each once per phase. */
  readonly topics: number;
  readonly perSecond: number;
}

interface Phase {
  /** The hub's CPU per publish to a subscribed topic (µs), HTTP included. */
  readonly hubCpuMicrosPerPublish: number;
  /** The same for the blocks in between, to topics nobody subscribes to. */
  readonly baselineMicrosPerPublish: number;
  /** The difference: routing and delivering one publish. */
  readonly routingMicrosPerPublish: number;
  readonly publish: LatencySummary;
  readonly deliver: LatencySummary;
}

export interface RoutingResult extends ScenarioResult<RoutingCase> {
  readonly cold: Phase;
  readonly warm: Phase;
  /** Pattern subscribers the hub could hold (0 for hubs that only know exact channels). */
  readonly patternSubscribers: number;
}

const topicOf = (i: number) => `https://example.com/bench/routing/items/${i}`;
/** Publishes per block; the blocks of a phase alternate with as many baseline publishes. */
const BLOCK = 250;
/** The baseline's topics (a block's worth): nobody subscribes to them, and all are published once before the phases. */
const baselineTopicOf = (i: number) => `https://example.com/bench/routing/unsubscribed/${i % BLOCK}`;
/** Patterns that look like the topics but never match one: the hub must rule each out. */
const patternOf = (j: number) => `https://example.com/bench/routing/groups/${j}/:item`;

export const routing: Scenario<RoutingCase, RoutingResult> = {
  name: "routing",
  summary: "each subscriber on its own topic, plus URL Pattern subscribers: the cost of one publish",
  cases: (quick) => [
    {
      exactSubscribers: 10_000,
      patternSubscribers: 1000,
      // Fewer topics than subscribers: the last subscriber's topic is the warm-up's.
      topics: quick ? 1250 : 9000,
      perSecond: 500,
    },
  ],
  label: (c) =>
    `${c.exactSubscribers.toLocaleString("en")} exact + ${c.patternSubscribers.toLocaleString("en")} pattern subscribers`,
  run: runRouting,
  headline: {
    label: "warm routing µs/publish",
    value: (r) => r.warm.routingMicrosPerPublish,
    higherIsBetter: false,
  },
  columns: [
    { header: "baseline µs/publish", value: (r) => r.warm.baselineMicrosPerPublish },
    { header: "warm total µs/publish", value: (r) => r.warm.hubCpuMicrosPerPublish },
    { header: "cold routing µs/publish", value: (r) => r.cold.routingMicrosPerPublish },
    { header: "cold total µs/publish", value: (r) => r.cold.hubCpuMicrosPerPublish },
    { header: "publish p99 ms cold / warm", value: (r) => `${r.cold.publish.p99} / ${r.warm.publish.p99}` },
    { header: "pattern subscribers", value: (r) => r.patternSubscribers },
  ],
  latency: (r) => r.warm.deliver,
};

async function runRouting(target: Target, c: RoutingCase, rig: Rig): Promise<RoutingResult> {
  const order = shuffled(c.topics);
  const problems: string[] = [];
  const publisher = new Publisher(target, 32);
  const paced = async (name: string, topic: (i: number) => string, count: number) => {
    const run = await publisher.paced(topic, count, c.perSecond, 100);
    if (run.failed > 0) problems.push(`${name}: ${run.failed} publishes failed`);
    return run;
  };
  try {
    const exact = rig.startPool(Math.ceil(c.exactSubscribers / SOCKETS_PER_GENERATOR));
    const requests = Array.from({ length: c.exactSubscribers }, (_, i) =>
      target.subscribeRequest(topicOf(i)),
    );
    const opened = await exact.open(target.port, requests, c.exactSubscribers, 200);
    if (opened.failed > 0) throw new Error(`${opened.failed} subscribers could not connect`);
    const patterns = target.subscribePatternRequest === undefined ? 0 : c.patternSubscribers;
    const patternPool = rig.startPool(1);
    if (patterns > 0) {
      const patternRequests = Array.from({ length: patterns }, (_, j) =>
        target.subscribePatternRequest!(patternOf(j)),
      );
      const openedPatterns = await patternPool.open(target.port, patternRequests, patterns, 0);
      if (openedPatterns.failed > 0)
        throw new Error(`${openedPatterns.failed} pattern subscribers could not connect`);
    }
    // Every subscriber answered (pattern subscribers too), then registered: the last exact
    // subscriber receives an event on its topic, which the measured phases never publish, so that
    // the cold phase publishes every one of its topics for the first time. The warm-up waits for
    // that subscriber to have seen its latest event: none is still on its way when the counts
    // are reset, to be counted as one of the cold phase's.
    const warmUpTopic = c.exactSubscribers - 1;
    await patternPool.waitForHeads();
    await exact.warmUp(publisher, topicOf(warmUpTopic), 100, 1);
    // The publish path warmed up, and every baseline topic seen once: untimed.
    // A second of publishes warms the hub's publish path up (parsing, authorization, the JIT).
    await paced("warm-up", (i) => `https://example.com/bench/routing/warm-up/${i}`, c.perSecond);
    await paced("warm-up", baselineTopicOf, Math.min(BLOCK, c.topics));
    await sleep(200);
    await exact.report(true);
    await patternPool.report(true);

    const phase = async (name: string): Promise<Phase> => {
      let routedMicros = 0;
      let baselineMicros = 0;
      let baselinePublishes = 0;
      const publishLatencies: number[] = [];
      // Every report hands over the latencies the probes saw since the last one: keep them all.
      const latencies: number[] = [];
      for (let start = 0; start < c.topics; start += BLOCK) {
        const count = Math.min(BLOCK, c.topics - start);
        let before = sample(target.pid);
        await paced(`${name} baseline`, baselineTopicOf, count);
        let after = sample(target.pid);
        baselineMicros += after.cpuMicros - before.cpuMicros;
        baselinePublishes += count;
        before = after;
        const run = await paced(name, (i) => topicOf(order[start + i]!), count);
        after = sample(target.pid);
        routedMicros += after.cpuMicros - before.cpuMicros;
        publishLatencies.push(...run.latencies);
        latencies.push(...(await exact.report()).latencies);
      }
      // Let the last deliveries land: one per topic published.
      for (let waited = 0; waited < 100; waited++) {
        const seen = await exact.report();
        latencies.push(...seen.latencies);
        if (seen.events >= c.topics) break;
        await sleep(50);
      }
      const counted = await exact.report(true);
      latencies.push(...counted.latencies);
      const stray = await patternPool.report(true);
      if (counted.events !== c.topics || counted.maxPerSocket > 1) {
        problems.push(`${name}: ${counted.events} deliveries for ${c.topics} publishes`);
      }
      if (stray.events > 0)
        problems.push(`${name}: pattern subscribers got ${stray.events} events they do not match`);
      const busiest = Math.max(counted.maxCpuShare, stray.maxCpuShare);
      if (busiest > 0.9) problems.push(`${name}: a generator used ${round(busiest * 100)}% of a core`);
      const total = round(routedMicros / c.topics, 1);
      const baseline = round(baselineMicros / baselinePublishes, 1);
      return {
        hubCpuMicrosPerPublish: total,
        baselineMicrosPerPublish: baseline,
        // From the rounded figures, so that the table's columns subtract exactly.
        routingMicrosPerPublish: round(total - baseline, 1),
        publish: latencySummary(publishLatencies),
        deliver: latencySummary(latencies),
      };
    };
    const cold = await phase("cold");
    const warm = await phase("warm");
    return {
      case: c,
      cold,
      warm,
      patternSubscribers: patterns,
      ...(problems.length > 0 ? { invalid: problems.join("; ") } : {}),
    };
  } finally {
    publisher.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** 0 … n-1 in a fixed pseudo-random order (the same for every hub, so runs compare). */
function shuffled(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  let seed = 0x2545f491;
  for (let i = n - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
