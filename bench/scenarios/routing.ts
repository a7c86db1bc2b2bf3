/**
 * routing: many subscribers, each on its own exact topic, plus URL Pattern subscribers that match
 * none of the published topics; events go to one topic at a time at a steady rate. What a publish
 * costs the hub should follow the subscribers it reaches (one here), not all it holds. Measured
 * twice: cold (every topic published for the first time) and warm (the same topics again).
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
  /** The hub's CPU per publish (µs), HTTP included. */
  readonly hubCpuMicrosPerPublish: number;
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
      topics: quick ? 2500 : 9000,
      perSecond: 500,
    },
  ],
  label: (c) =>
    `${c.exactSubscribers.toLocaleString("en")} exact + ${c.patternSubscribers.toLocaleString("en")} pattern subscribers`,
  run: runRouting,
  headline: {
    label: "warm hub CPU µs/publish",
    value: (r) => r.warm.hubCpuMicrosPerPublish,
    higherIsBetter: false,
  },
  columns: [
    { header: "cold µs/publish", value: (r) => r.cold.hubCpuMicrosPerPublish },
    { header: "publish p99 ms cold / warm", value: (r) => `${r.cold.publish.p99} / ${r.warm.publish.p99}` },
    { header: "deliver p99 ms warm", value: (r) => r.warm.deliver.p99 },
    { header: "pattern subscribers", value: (r) => r.patternSubscribers },
  ],
  latency: (r) => r.warm.deliver,
};

async function runRouting(target: Target, c: RoutingCase, rig: Rig): Promise<RoutingResult> {
  const exact = rig.startPool(Math.ceil(c.exactSubscribers / SOCKETS_PER_GENERATOR));
  const requests = Array.from({ length: c.exactSubscribers }, (_, i) => target.subscribeRequest(topicOf(i)));
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
  const publisher = new Publisher(target, 32);
  try {
    // Registered: the last subscriber receives an event on its topic, which the measured phases
    // never publish, so that the cold phase publishes every one of its topics for the first time.
    const warmUpTopic = c.exactSubscribers - 1;
    // Every hub here answers a subscriber once it is registered: wait for every answer first.
    for (let waited = 0; (await exact.report()).responded < c.exactSubscribers; waited++) {
      if (waited > 200) throw new Error("the subscribers were not answered within 10 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    let registered = false;
    for (let attempt = 0; attempt < 10 && !registered; attempt++) {
      await publisher.publish(topicOf(warmUpTopic), 1, 100, 1);
      registered = (await exact.report()).events > 0;
      if (!registered) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    if (!registered) throw new Error("the subscribers were not registered");
    await exact.report(true);
    await patternPool.report(true);

    const order = shuffled(c.topics);
    const problems: string[] = [];
    const phase = async (name: string): Promise<Phase> => {
      const before = sample(target.pid);
      const run = await publisher.paced((i) => topicOf(order[i]!), c.topics, c.perSecond, 100);
      // Let the last deliveries land: one per topic published.
      for (let waited = 0; waited < 100 && (await exact.report()).events < c.topics; waited++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const after = sample(target.pid);
      const counted = await exact.report(true);
      const stray = await patternPool.report(true);
      if (run.failed > 0) problems.push(`${name}: ${run.failed} publishes failed`);
      if (counted.events !== c.topics || counted.maxPerSocket > 1) {
        problems.push(`${name}: ${counted.events} deliveries for ${c.topics} publishes`);
      }
      if (stray.events > 0)
        problems.push(`${name}: pattern subscribers got ${stray.events} events they do not match`);
      const busiest = Math.max(counted.maxCpuShare, stray.maxCpuShare);
      if (busiest > 0.9) problems.push(`${name}: a generator used ${round(busiest * 100)}% of a core`);
      return {
        hubCpuMicrosPerPublish: round((after.cpuMicros - before.cpuMicros) / c.topics, 1),
        publish: latencySummary(run.latencies),
        deliver: latencySummary(counted.latencies),
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
