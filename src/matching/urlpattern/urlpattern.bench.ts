/**
 * Micro benchmark: compile and test cost of our URL pattern matcher against the native
 * URLPattern: `node scripts/node24.js src/matching/urlpattern/urlpattern.bench.ts` (or
 * `npm run bench:micro`, with the others).
 *
 * "cached" topics repeat (the hub tests one topic against every pattern, and we parse the topic once
 * for all of them); "fresh" topics cycle through more topics than the parse cache holds.
 */
import { compileUrlPattern } from "./compile.ts";

const BASE_URL = "https://hub.example/.well-known/mercure";

const CASES: readonly { pattern: string; topics: readonly string[] }[] = [
  {
    pattern: "https://example.com/books/:id",
    topics: ["https://example.com/books/1", "https://example.com/a/1"],
  },
  { pattern: "/books/:id(\\d+)", topics: ["/books/123", "/books/abc"] },
  { pattern: "https://*.example.com/*", topics: ["https://a.example.com/x/y", "https://example.org/x"] },
  {
    pattern: "https://example.com/users/:user/orders{/:order}?\\?*",
    topics: ["https://example.com/users/42/orders/7?x=1", "https://example.com/users/42/carts"],
  },
];

function nsPerOp(run: (iteration: number) => unknown, iterations: number): number {
  for (let i = 0; i < Math.min(iterations, 2000); i++) run(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run(i);
  return Number(process.hrtime.bigint() - start) / iterations;
}

function freshTopics(topics: readonly string[]): string[] {
  // 1024 distinct topics: four times the topic cache.
  return Array.from({ length: 1024 }, (_, i) => {
    const topic = topics[i % topics.length]!;
    return topic.includes("?") ? topic + "&n=" + i : topic + "?n=" + i;
  });
}

const rows: Record<string, string | number>[] = [];
const row = (name: string, what: string, ours: number, native: number) =>
  rows.push({
    pattern: name,
    what,
    "ours ns/op": Math.round(ours),
    "native ns/op": Math.round(native),
    "ours/native": Number((ours / native).toPrecision(2)),
  });

for (const { pattern, topics } of CASES) {
  const ours = compileUrlPattern(pattern, BASE_URL);
  const native = new URLPattern(pattern, BASE_URL);
  row(
    pattern,
    "compile",
    nsPerOp(() => compileUrlPattern(pattern, BASE_URL), 20_000),
    nsPerOp(() => new URLPattern(pattern, BASE_URL), 20_000),
  );
  row(
    pattern,
    "test, cached topic",
    nsPerOp((i) => ours.test(topics[i & 1]!), 1_000_000),
    nsPerOp((i) => native.test(topics[i & 1]!, BASE_URL), 1_000_000),
  );
  const fresh = freshTopics(topics);
  row(
    pattern,
    "test, fresh topic",
    nsPerOp((i) => ours.test(fresh[i & 1023]!), 300_000),
    nsPerOp((i) => native.test(fresh[i & 1023]!, BASE_URL), 300_000),
  );
}

// What motivated all this: V8 backtracks, we do not.
const evil = "/*a*a*a*a*a*a*a*b";
const evilTopic = "/" + "a".repeat(24);
const ours = compileUrlPattern(evil, BASE_URL);
row(
  evil + " on 24 × a",
  "test",
  nsPerOp(() => ours.test(evilTopic), 10_000),
  nsPerOp(() => new URLPattern(evil, BASE_URL).test(evilTopic, BASE_URL), 3),
);

console.table(rows);
