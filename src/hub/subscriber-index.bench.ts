/**
 * Micro benchmark: the subscriber index, the hub's routing step. `forEachMatch` runs once per
 * published update; `add` and `delete` once per subscriber stream opened and closed. Run with
 * Node 24: `node scripts/node24.js src/hub/subscriber-index.bench.ts` (all micro benchmarks:
 * `npm run bench:micro`).
 *
 * Tables:
 * 1. Exact topics, each subscriber on its own topic, 1k / 10k / 100k subscribers: ns per publish
 *    to a topic one subscriber has ("hit", topics taken in a shuffled order over the whole index),
 *    to a topic nobody has ("miss"), and to the same topic again and again ("one topic again",
 *    everything in the CPU caches). A Map lookup: the work does not grow with the number of
 *    subscribers; what does grow, once the index outgrows the CPU caches, is memory latency
 *    (compare "hit" with "one topic again").
 * 2. 10k subscribers on one topic: ns per publish, and per connection visited.
 * 3. 10k exact subscribers (as in 1) plus 100 or 1k distinct URL Pattern (or legacy URI Template)
 *    subscribers. "new topic": published topics cycle, shuffled, through 40k distinct topics (10k
 *    of them have their exact subscriber), more than any topic cache along the way holds (the
 *    index's remembered routes, 10k topics; the URL Pattern topic parse cache, 256), so every
 *    distinct pattern is evaluated on every publish, each topic being parsed once for all of them:
 *    this is the cost the hub pays per publish for patterns. "patterns' share" is the difference
 *    with no pattern at all, and "ns per pattern" that share divided by the number of patterns.
 *    "same topic again": one topic published over and over, as a feed republished to.
 * 4. `add` and `delete`, ns per connection, for 10k connections of one matcher each: each round
 *    fills a new index, then empties it; median of 15 rounds after 3 untimed ones.
 *
 * The visitor does what the hub's does first (`connection.markOffered` with the dispatch number, so
 * that a connection selected twice is offered once), so visiting touches each connection as in the hub.
 * Connections are real `Connection` objects over a sink that does nothing. Published topic strings
 * are built once and reused, so their hash is computed once: a fresh topic string in the hub adds
 * one hash of its characters to the first lookup.
 *
 * Each figure is the median of 7 timed rounds, after calibration and a warm-up round; "±%" is
 * half the spread of the rounds relative to the median (a noise indicator, not an error bar). The
 * checksum printed last only keeps the measured calls from being optimized away.
 */

import {
  checksum,
  keep,
  measure,
  percent,
  roundNs,
  summarize,
  type Timing,
} from "../../bench/micro-bench.ts";
import { Random } from "../../test/helpers/seeded-random.ts";
import { compileMatcher, DEFAULT_MAX_PATTERN_LENGTH } from "../matching/compile.ts";
import type { MatcherType, TopicMatcher } from "../matching/matcher.ts";
import { Connection } from "./connection.ts";
import { DeliveryTally } from "./delivery-tally.ts";
import type { StreamSink } from "./stream-sink.ts";
import { SubscriberIndex } from "./subscriber-index.ts";

const BASE_URL = "https://hub.example/.well-known/mercure";
const LIMITS = { maxPatternLength: DEFAULT_MAX_PATTERN_LENGTH };
const random = new Random(20251);

/** The index and the visitor use only `matchers` and `markOffered`; the sink is never written to. */
const sink: StreamSink = {
  start() {},
  write: () => true,
  onDrain() {},
  onClose() {},
  end() {},
  destroy() {},
};

function connection(matchers: readonly TopicMatcher[]): Connection {
  return new Connection({
    sink,
    matchers,
    grants: undefined,
    deadline: Number.MAX_SAFE_INTEGER,
    deadlineReason: "max_lifetime",
    now: () => 0,
    limits: { maxQueueBytes: 1 << 20, writeTimeoutMs: 10_000 },
    tally: new DeliveryTally(),
    schedule: () => {},
    onClose: () => {},
  });
}

const matcher = (type: MatcherType, pattern: string) => compileMatcher(type, pattern, BASE_URL, LIMITS);

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** As the hub's visitor starts: one offer per connection per update, by the hub's dispatch number. */
let dispatch = 0;
let visited = 0;
const visit = (connection: Connection): void => {
  if (!connection.markOffered(dispatch)) return;
  visited++;
};

/** ns per publish of `topicLists` (one list per update, cycled through) on `index`. */
function publish(
  index: SubscriberIndex,
  topicLists: readonly (readonly string[])[],
  roundMs?: number,
): Timing {
  return measure((i) => {
    dispatch++;
    index.forEachMatch(topicLists[i % topicLists.length]!, visit);
    return visited;
  }, roundMs);
}

const exactTopic = (n: number): string => `https://example.com/users/${n % 1000}/books/${n}`;

// 1. Exact topics, one subscriber each.
const MAX_EXACT = 100_000;
const exactConnections = Array.from({ length: MAX_EXACT }, (_, n) =>
  connection([matcher("exact", exactTopic(n))]),
);
const exactRows: Record<string, string | number>[] = [];
for (const count of [1_000, 10_000, 100_000]) {
  const index = new SubscriberIndex();
  for (let n = 0; n < count; n++) index.add(exactConnections[n]!);
  const hits = shuffle(Array.from({ length: count }, (_, n) => [exactTopic(n)]));
  const misses = shuffle(Array.from({ length: count }, (_, n) => [`https://example.com/nobody/${n}`]));
  const hot = publish(index, [hits[0]!]);
  const hit = publish(index, hits);
  const miss = publish(index, misses);
  exactRows.push({
    subscribers: count,
    "one topic again ns/publish": roundNs(hot.ns),
    "hot ±%": percent(hot.spread),
    "hit ns/publish": roundNs(hit.ns),
    "±%": percent(hit.spread),
    "miss ns/publish": roundNs(miss.ns),
    "miss ±%": percent(miss.spread),
  });
}

// 2. Many subscribers on one topic.
const FAN_OUT = 10_000;
const sharedTopic = "https://example.com/live";
const fanOut = new SubscriberIndex();
for (let n = 0; n < FAN_OUT; n++) fanOut.add(connection([matcher("exact", sharedTopic)]));
const fan = publish(fanOut, [[sharedTopic]], 30);
const fanRows = [
  {
    subscribers: FAN_OUT,
    "ns/publish": roundNs(fan.ns),
    "ns/connection visited": roundNs(fan.ns / FAN_OUT),
    "±%": percent(fan.spread),
  },
];

// 3. 10k exact subscribers, plus distinct patterns.
const URL_PATTERNS = [
  (n: number) => `https://example.com/users/${n}/books/:id`,
  (n: number) => `https://example.com/users/${n}/*`,
  (n: number) => `https://example.com/users/${n}/orders/:order(\\d+)`,
];
const TEMPLATES = [
  (n: number) => `https://example.com/users/${n}/books/{id}`,
  (n: number) => `https://example.com/users/${n}/{collection}/{id}`,
  (n: number) => `https://example.com/users/${n}/orders{/order}{?fields}`,
];
const BASE_SUBSCRIBERS = 10_000;
const PUBLISHED_TOPICS = 40_000;
const published = shuffle(Array.from({ length: PUBLISHED_TOPICS }, (_, n) => [exactTopic(n)]));
const patternRows: Record<string, string | number>[] = [];
let exactOnly = 0;
for (const [label, type, make, count] of [
  ["none", "exact", URL_PATTERNS, 0],
  ["URL Pattern", "urlpattern", URL_PATTERNS, 100],
  ["URL Pattern", "urlpattern", URL_PATTERNS, 1_000],
  ["legacy URI Template", "topic", TEMPLATES, 1_000],
] as const) {
  const index = new SubscriberIndex();
  for (let n = 0; n < BASE_SUBSCRIBERS; n++) index.add(exactConnections[n]!);
  for (let n = 0; n < count; n++) index.add(connection([matcher(type, make[n % make.length]!(n))]));
  const timing = publish(index, published, 30);
  const again = publish(index, [published[0]!]);
  if (count === 0) exactOnly = timing.ns;
  const share = timing.ns - exactOnly;
  patternRows.push({
    patterns: count === 0 ? "none" : `${count} × ${label}`,
    "new topic ns/publish": roundNs(timing.ns),
    "±%": percent(timing.spread),
    "patterns' share ns": count === 0 ? "" : roundNs(share),
    "ns per pattern": count === 0 ? "" : roundNs(share / count),
    "same topic again ns/publish": roundNs(again.ns),
    "again ±%": percent(again.spread),
  });
}

// 4. add and delete.
const CHURN = 10_000;
const CHURN_WARM_UP = 3;
/** A round is short (10k adds, then 10k deletes): more of them than elsewhere. */
const CHURN_ROUNDS = 15;
const sameTopic = Array.from({ length: CHURN }, () => connection([matcher("exact", sharedTopic)]));
const samePattern = Array.from({ length: CHURN }, () =>
  connection([matcher("urlpattern", "https://example.com/users/:user/*")]),
);
const distinctPatterns = Array.from({ length: CHURN }, (_, n) =>
  connection([matcher("urlpattern", URL_PATTERNS[n % URL_PATTERNS.length]!(n))]),
);
const churnRows: Record<string, string | number>[] = [];
for (const [label, connections] of [
  ["exact, own topic each", exactConnections.slice(0, CHURN)],
  ["exact, one shared topic", sameTopic],
  ["URL Pattern, distinct", distinctPatterns],
  ["URL Pattern, one shared pattern", samePattern],
] as const) {
  const adds: number[] = [];
  const deletes: number[] = [];
  for (let r = 0; r < CHURN_WARM_UP + CHURN_ROUNDS; r++) {
    const index = new SubscriberIndex();
    let start = process.hrtime.bigint();
    for (const c of connections) index.add(c);
    const added = Number(process.hrtime.bigint() - start) / connections.length;
    dispatch++;
    index.forEachMatch([exactTopic(r)], visit); // the index is used, so filling it is not dead code
    start = process.hrtime.bigint();
    for (const c of connections) index.delete(c);
    const deleted = Number(process.hrtime.bigint() - start) / connections.length;
    if (r >= CHURN_WARM_UP) {
      adds.push(added);
      deletes.push(deleted);
    }
  }
  const add = summarize(adds);
  const del = summarize(deletes);
  churnRows.push({
    connections: `${CHURN} × ${label}`,
    "add ns/connection": roundNs(add.ns),
    "±%": percent(add.spread),
    "delete ns/connection": roundNs(del.ns),
    "delete ±%": percent(del.spread),
  });
}
keep(visited);

console.log(`Subscriber index (Node ${process.version})`);
console.log("1. forEachMatch, exact topics, one subscriber per topic");
console.table(exactRows);
console.log("2. forEachMatch, every subscriber on one topic");
console.table(fanRows);
console.log(
  `3. forEachMatch, ${BASE_SUBSCRIBERS} exact subscribers plus distinct patterns, ${PUBLISHED_TOPICS} topics published`,
);
console.table(patternRows);
console.log("4. add and delete, one matcher per connection");
console.table(churnRows);
console.log(`checksum ${checksum()}`);
