import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { mintToken } from "../src/auth/mint.ts";
import { resolveServeConfig } from "../src/cli/resolve-config.ts";
import { formHeaders, rawRequest } from "./helpers/auth.ts";
import { startRedisServer } from "./helpers/redis-server.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";

const BIN = fileURLToPath(new URL("../bin/quicksilver.js", import.meta.url));
const SECRET = "a-secret-that-is-long-enough-for-hs256!!";
const ISSUER = "workers-test";
const TOPIC = "https://example.com/workers/feed";
const PRIVATE_TOPIC = "https://example.com/workers/private";
const EVERY_SUBSCRIPTION = "/.well-known/mercure/subscriptions/*";

type LogLine = Record<string, unknown> & { msg: string };

/** With Redis, each worker is a node of its own; the primary holds no store. */
const redis = await startRedisServer();
after(() => redis.stop());
let redisPrefixes = 0;

/** The flags a case on `transport` adds: a key prefix of its own on the shared Redis, a short lease. */
function flagsFor(transport: string): string[] {
  if (!transport.startsWith("redis:")) return [];
  return ["--redis-prefix", `{workers-${++redisPrefixes}}`, "--node-lease", "1s"];
}

/**
 * `serve --workers 2` in a child process, its log parsed. Each worker's lines carry its pid in
 * `worker`: "worker listening" says it serves, and "stream closed" which worker held a stream.
 */
class Cluster {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  hubUrl = "";
  #waiters: { match: (line: LogLine) => boolean; resolve: () => void }[] = [];
  output = "";

  constructor(args: string[], transport: string) {
    this.child = spawn(
      process.execPath,
      [
        BIN,
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--workers",
        "2",
        "--issuer",
        ISSUER,
        "--publisher-key",
        SECRET,
        "--subscriber-key",
        SECRET,
        "--subscriptions",
        "--log-level",
        "debug",
        ...args,
      ],
      { env: { PATH: process.env.PATH ?? "", MERCURE_TRANSPORT: transport } },
    );
    let pending = "";
    this.child.stdout!.on("data", (chunk) => {
      this.output += chunk;
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const text of lines) {
        if (!text.startsWith("{")) continue;
        const line = JSON.parse(text) as LogLine;
        this.logs.push(line);
        for (const waiter of this.#waiters.filter((w) => w.match(line))) waiter.resolve();
        this.#waiters = this.#waiters.filter((w) => !w.match(line));
      }
    });
    this.child.stderr!.on("data", (chunk) => {
      this.output += chunk;
    });
  }

  static async start(transport: string, args: string[] = []): Promise<Cluster> {
    const cluster = new Cluster(args, transport);
    const listening = await cluster.waitForLog((line) => line.msg === "hub listening");
    cluster.hubUrl = listening.hubUrl as string;
    await cluster.waitForLogs((line) => line.msg === "worker listening", 2);
    return cluster;
  }

  /** Resolves with the first line (already logged or to come) that matches. */
  async waitForLog(match: (line: LogLine) => boolean): Promise<LogLine> {
    return (await this.waitForLogs(match, 1))[0]!;
  }

  /** Resolves once `count` lines matching were logged. */
  waitForLogs(match: (line: LogLine) => boolean, count: number): Promise<LogLine[]> {
    const found = () => this.logs.filter(match);
    if (found().length >= count) return Promise.resolve(found());
    return new Promise((resolve, reject) => {
      this.child.once("exit", () => reject(new Error(`the hub exited: ${this.output}`)));
      const waiter = {
        match: (line: LogLine) => match(line) && found().length >= count,
        resolve: () => resolve(found()),
      };
      this.#waiters.push(waiter);
    });
  }

  /** The pids of the workers that serve now. */
  workerPids(): number[] {
    const exited = new Set(this.logs.filter((l) => l.msg === "worker exited").map((l) => l.pid));
    const pids = this.logs.filter((l) => l.msg === "worker listening").map((l) => l.worker as number);
    return pids.filter((pid) => !exited.has(pid));
  }

  token(grants: { publish?: string[]; subscribe?: string[] }): Promise<string> {
    return mintToken({ issuer: ISSUER, audience: this.hubUrl, key: SECRET, ...grants });
  }

  /**
   * Publishes over a connection of its own (closed after), so that the publishes of a test are
   * spread over the workers in turn rather than carried by one kept-alive connection.
   */
  async publish(topic: string, isPrivate = false): Promise<string> {
    const response = await rawRequest(this.hubUrl, {
      method: "POST",
      headers: formHeaders({
        Authorization: `Bearer ${await this.token({ publish: [topic] })}`,
        Connection: "close",
      }),
      body: new URLSearchParams({ topic, data: "hi", ...(isPrivate ? { private: "on" } : {}) }).toString(),
    });
    assert.equal(response.status, 200, response.body);
    return response.body;
  }

  /** The subscriptions the API lists, asked over a connection of its own (so of the next worker). */
  async listed(): Promise<{ match: string }[]> {
    const response = await rawRequest(new URL(EVERY_SUBSCRIPTION.slice(0, -2), this.hubUrl), {
      headers: { Authorization: `Bearer ${await this.token({ subscribe: ["*"] })}`, Connection: "close" },
    });
    assert.equal(response.status, 200, response.body);
    return (JSON.parse(response.body) as { subscriptions: { match: string }[] }).subscriptions;
  }

  async subscribe(parameters: [string, string][], token: string, lastEventId?: string): Promise<Stream> {
    const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
    if (lastEventId !== undefined) headers["Last-Event-ID"] = lastEventId;
    const stream = await openStream(subscribeUrl(this.hubUrl, parameters), { headers });
    assert.equal(stream.status, 200, stream.status === 200 ? "" : await stream.body);
    return stream;
  }

  async watch(): Promise<Stream> {
    return this.subscribe([["match_urlpattern", EVERY_SUBSCRIPTION]], await this.token({ subscribe: ["*"] }));
  }

  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.child.exitCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => {
      this.child.once("exit", (code) => resolve(code));
      this.child.kill(signal);
    });
  }
}

const ids = (stream: Stream) => stream.events.map((event) => event.id);

/** The subscription documents a watcher received. */
function docs(stream: Stream): { match: string; active: boolean }[] {
  return stream.events.map((event) => JSON.parse(event.data));
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(condition(), what);
}

for (const transport of [
  "memory",
  `sqlite:${join(mkdtempSync(join(tmpdir(), "quicksilver-workers-")), "hub.db")}`,
  redis.url,
]) {
  describe(`serve --workers 2 (${transport.split(":")[0]})`, { timeout: 60_000 }, () => {
    it("acts as one hub: fan-out, replay from any worker, private updates and presence span the workers", async () => {
      const cluster = await Cluster.start(transport, flagsFor(transport));
      try {
        const watchers = [await cluster.watch(), await cluster.watch()];
        const streams: Stream[] = [];
        for (let i = 0; i < 6; i++) {
          streams.push(
            await cluster.subscribe([["match", TOPIC]], await cluster.token({ subscribe: [TOPIC] })),
          );
        }
        // Every watcher, whichever worker holds it, sees every subscription begin.
        for (const watcher of watchers) {
          await waitUntil(
            () => docs(watcher).filter((doc) => doc.match === TOPIC && doc.active).length === 6,
            "six subscriptions seen",
          );
        }
        // The subscription API of every worker lists the subscriptions of both.
        for (let i = 0; i < 2; i++) {
          const listed = await cluster.listed();
          assert.equal(listed.filter((doc) => doc.match === TOPIC).length, 6);
        }

        const published: string[] = [];
        for (let i = 0; i < 6; i++) published.push(await cluster.publish(TOPIC));
        for (const stream of streams) {
          await stream.waitForEvents(6);
          assert.deepEqual(ids(stream), published, "every update, once, in one order");
        }
        // A reconnection with a cursor, on either worker: what followed it, no gap, no duplicate.
        for (let i = 0; i < 2; i++) {
          const again = await cluster.subscribe(
            [["match", TOPIC]],
            await cluster.token({ subscribe: [TOPIC] }),
            published[1],
          );
          assert.equal(again.headers["mercure-last-event-id"], published[1]);
          const expected = published.slice(2);
          await again.waitForEvents(expected.length);
          const marker = await cluster.publish(TOPIC);
          published.push(marker);
          await again.waitForEvents(expected.length + 1);
          assert.deepEqual(ids(again), [...expected, marker]);
          again.close();
        }

        // Private updates reach only the subscribers allowed them, on whichever worker.
        const allowed: Stream[] = [];
        const others: Stream[] = [];
        for (let i = 0; i < 2; i++) {
          allowed.push(
            await cluster.subscribe(
              [["match", PRIVATE_TOPIC]],
              await cluster.token({ subscribe: [PRIVATE_TOPIC] }),
            ),
          );
          others.push(
            await cluster.subscribe([["match", PRIVATE_TOPIC]], await cluster.token({ subscribe: [TOPIC] })),
          );
        }
        const secret = await cluster.publish(PRIVATE_TOPIC, true);
        const open = await cluster.publish(PRIVATE_TOPIC);
        for (const stream of allowed)
          assert.deepEqual(ids(await stream.waitForEvents(2).then(() => stream)), [secret, open]);
        for (const stream of others)
          assert.deepEqual(ids(await stream.waitForEvents(1).then(() => stream)), [open]);

        // Which worker held each stream: both did.
        for (const stream of [...streams, ...allowed, ...others, ...watchers]) stream.close();
        const closed = await cluster.waitForLogs((line) => line.msg === "stream closed", 6 + 4 + 2 + 2);
        assert.equal(
          new Set(closed.map((line) => line.worker)).size,
          2,
          "streams were served by both workers",
        );
      } finally {
        assert.equal(await cluster.stop(), 0);
      }
    });
  });
}

describe("serve --workers 2: supervision", { timeout: 60_000 }, () => {
  for (const transport of ["memory", redis.url]) {
    it(`restarts a killed worker; its subscribers resume from their cursor and its subscriptions end (${transport.split(":")[0]})`, async () => {
      const cluster = await Cluster.start(transport, flagsFor(transport));
      try {
        const watchers = [await cluster.watch(), await cluster.watch()];
        const streams: Stream[] = [];
        for (let i = 0; i < 4; i++) {
          streams.push(
            await cluster.subscribe([["match", TOPIC]], await cluster.token({ subscribe: [TOPIC] })),
          );
        }
        const before = [await cluster.publish(TOPIC), await cluster.publish(TOPIC)];
        for (const stream of streams) await stream.waitForEvents(2);

        const ended = new Set<Stream>();
        for (const stream of [...watchers, ...streams]) void stream.ended.then(() => ended.add(stream));
        const [victim] = cluster.workerPids();
        process.kill(victim!, "SIGKILL");
        await cluster.waitForLog(
          (line) => line.msg === "worker exited" && line.pid === victim && line.signal === "SIGKILL",
        );
        // Its subscriptions are marked inactive for the subscribers of the other worker. Its streams
        // were cut when it died, before the primary learned of it and ended their subscriptions.
        const endedCount = (watcher: Stream, match: string) =>
          docs(watcher).filter((doc) => doc.match === match && !doc.active).length;
        const endedFeeds = () => streams.filter((stream) => ended.has(stream)).length;
        const survivingWatchers = () => watchers.filter((watcher) => !ended.has(watcher));
        await waitUntil(
          () =>
            endedFeeds() > 0 &&
            survivingWatchers().length > 0 &&
            survivingWatchers().every(
              (watcher) =>
                endedCount(watcher, TOPIC) === endedFeeds() &&
                endedCount(watcher, EVERY_SUBSCRIPTION) === watchers.length - survivingWatchers().length,
            ),
          "the killed worker's subscriptions (and only those) are announced ended",
        );
        const meanwhile = [
          await cluster.publish(TOPIC),
          await cluster.publish(TOPIC),
          await cluster.publish(TOPIC),
        ];
        // Its subscribers reconnect with their cursor and get what was published meanwhile, once.
        for (const stream of streams.filter((s) => ended.has(s))) {
          const again = await cluster.subscribe(
            [["match", TOPIC]],
            await cluster.token({ subscribe: [TOPIC] }),
            before[1],
          );
          const expected = [...meanwhile];
          await again.waitForEvents(expected.length);
          const marker = await cluster.publish(TOPIC);
          meanwhile.push(marker);
          await again.waitForEvents(expected.length + 1);
          assert.deepEqual(ids(again), [...expected, marker], "what followed the cursor, once, in order");
          again.close();
          stream.close();
        }
        // And it was replaced: the new worker started knowing the subscriptions of the other one
        // (once the reconnected streams, closed above, are seen gone).
        await cluster.waitForLogs((line) => line.msg === "worker listening", 3);
        const ending = (doc: { match: string; active: boolean }) => doc.match === TOPIC && !doc.active;
        await waitUntil(
          () => docs(survivingWatchers()[0]!).filter(ending).length === 2 * endedFeeds(),
          "the reconnected streams are seen gone",
        );
        for (let i = 0; i < 4; i++) {
          const listed = await cluster.listed();
          assert.equal(listed.filter((doc) => doc.match === TOPIC).length, streams.length - endedFeeds());
        }
        for (const stream of [...streams, ...watchers]) stream.close();
      } finally {
        assert.equal(await cluster.stop(), 0);
      }
    });
  }

  it("ends every worker and exits 0 on SIGTERM", async () => {
    const cluster = await Cluster.start("memory");
    const pids = cluster.workerPids();
    assert.equal(pids.length, 2);
    assert.equal(await cluster.stop("SIGTERM"), 0);
    for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} exited`);
  });

  it("ends the workers when the primary dies, rather than serve without a store", async () => {
    const cluster = await Cluster.start("memory");
    const pids = cluster.workerPids();
    assert.equal(pids.length, 2);
    await cluster.stop("SIGKILL");
    for (const pid of pids) await waitUntil(() => !alive(pid), `worker ${pid} exits`);
  });
});

/** Whether a process runs: an exited one not yet reaped by its new parent (a zombie) does not. */
function alive(pid: number): boolean {
  try {
    // "pid (name) S ...": the state follows the name's closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("--workers", () => {
  it("auto is the number of cores", () => {
    assert.equal(resolveServeConfig({ dev: true, workers: "auto" }, {}).workers, availableParallelism());
    assert.equal(
      resolveServeConfig({ dev: true, workers: "auto" }, {}, { descriptors: undefined, cores: 3 }).workers,
      3,
    );
    assert.equal(resolveServeConfig({ dev: true }, {}).workers, 1);
  });

  for (const value of ["0", "junk", "2.5", "-1"]) {
    it(`refuses ${value} as a usage error naming the flag`, async () => {
      const child = spawn(process.execPath, [BIN, "serve", "--dev", "--workers", value], {
        env: { PATH: process.env.PATH ?? "", MERCURE_TRANSPORT: "memory" },
      });
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      const code = await new Promise((resolve) => child.on("close", resolve));
      assert.equal(code, 2);
      assert.match(stderr, /--workers/);
    });
  }
});
