/**
 * The subscription API with many subscribers: a hub in its own process with active
 * subscriptions on, N subscribers on raw sockets held by a second process (one process may hold
 * 20,000 descriptors, and the hub needs one per subscriber too), then:
 *
 * - the hub's RSS (VmRSS from /proc) before and after the subscribers connected;
 * - the time to walk the list page by page (`?limit=<page>`, following rel="next");
 * - the time to fetch the whole list in one response (`--max-subscriptions-listed N`);
 * - whether an update published while full listings are being served still reaches a subscriber,
 *   and how late compared with an idle hub (serializing a large list holds the event loop).
 *
 * Prints one JSON line.
 *
 *   node scripts/node24.js bench/subscriptions-list.ts [subscribers=10000] [page=1000] [runs=3]
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { type MintOptions, mintToken } from "../src/auth/mint.ts";
import { BENCH_ISSUER, BENCH_SECRET, spawnHub } from "./spawn-hub.ts";

const TOPICS = 100;
const PROBE_TOPIC = "https://example.com/bench/probe";

interface ClientsRequest {
  readonly hubUrl: string;
  readonly count: number;
  readonly token: string;
}

if (process.argv[2] === "clients") await runClients();
else await runBench();

/** The child: opens `count` subscriber streams and holds them until told to stop. */
async function runClients(): Promise<void> {
  const sockets: Socket[] = [];
  process.on("message", async (message: ClientsRequest | "stop") => {
    if (message === "stop") {
      for (const socket of sockets) socket.destroy();
      process.exit(0);
    }
    const url = new URL(message.hubUrl);
    const started = performance.now();
    let next = 0;
    // A few hundred connections in flight at once: the hub's listen backlog is 511.
    const worker = async () => {
      while (next < message.count) {
        const i = next++;
        sockets.push(await openSubscriber(url, `https://example.com/bench/${i % TOPICS}`, message.token));
      }
    };
    await Promise.all(Array.from({ length: 256 }, worker));
    process.send!({ connected: sockets.length, seconds: (performance.now() - started) / 1000 });
  });
}

/** Opens a stream and resolves once its `200` head arrived; what follows is read and dropped. */
function openSubscriber(
  url: URL,
  topic: string,
  token: string,
  onData?: (chunk: Buffer) => void,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(
        `GET ${url.pathname}?match=${encodeURIComponent(topic)} HTTP/1.1\r\nHost: ${url.host}\r\n` +
          `Authorization: Bearer ${token}\r\n\r\n`,
      );
    });
    let head = "";
    let started = false;
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      if (!started) {
        head += chunk.toString("latin1");
        if (!head.includes("\r\n\r\n")) return;
        started = true;
        if (!head.startsWith("HTTP/1.1 200")) reject(new Error(head.split("\r\n")[0]));
        else resolve(socket);
      }
      onData?.(chunk);
    });
  });
}

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]);
}

async function runBench(): Promise<void> {
  const [subscribers = 10_000, page = 1000, runs = 3] = process.argv.slice(2).map(Number);
  const { process: hubProcess, hubUrl } = await spawnHub([
    "--subscriptions",
    "--max-subscriptions-listed",
    String(subscribers),
    "--max-sockets",
    String(subscribers + 200),
    "--max-sockets-per-client",
    String(subscribers + 200),
    "--max-connections",
    String(subscribers + 100),
    "--max-connections-per-client",
    String(subscribers + 100),
    // Every subscriber presents the one token: one subject.
    "--max-connections-per-subject",
    String(subscribers + 100),
  ]);
  const url = new URL(hubUrl);
  const subscriptionsUrl = `${url.origin}${url.pathname}/subscriptions`;
  const mint = (options: Partial<MintOptions>) =>
    mintToken({ issuer: BENCH_ISSUER, audience: hubUrl, key: BENCH_SECRET, ttlSeconds: 3600, ...options });
  const publisher = await mint({ publish: ["*"] });
  const lister = await mint({ subscribe: ["*"] });
  // One token for every subscriber (verified once, then cached), with a payload as a real one would.
  const subscriberToken = await mint({ subscribe: ["*"], payload: { tenant: "bench" } });

  const list = async (path: string): Promise<{ docs: number; pages: number; bytes: number }> => {
    let docs = 0;
    let pages = 0;
    let bytes = 0;
    for (let next: string | undefined = path; next !== undefined; pages++) {
      const response: Response = await fetch(new URL(next, url.origin), {
        headers: { Authorization: `Bearer ${lister}` },
      });
      if (response.status !== 200) throw new Error(`listing answered ${response.status}`);
      const body = await response.text();
      bytes += body.length;
      docs += (JSON.parse(body) as { subscriptions: unknown[] }).subscriptions.length;
      next = /<([^>]*)>; rel="next"/.exec(response.headers.get("link") ?? "")?.[1];
    }
    return { docs, pages, bytes };
  };
  const send = async (topic: string) => {
    const response = await fetch(hubUrl, {
      method: "POST",
      headers: { Authorization: `Bearer ${publisher}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ topic, data: "probe" }).toString(),
    });
    if (response.status !== 200) throw new Error(`publish answered ${response.status}`);
    return response.text();
  };

  // Warm up the code paths (routes, token cache, JSON), then the baseline.
  await list(subscriptionsUrl);
  await send("https://example.com/bench/warmup");
  const rssBefore = rssKiB(hubProcess.pid!);

  // The probe: one subscriber in this process, to time deliveries.
  let probeWaiter: ((at: number) => void) | undefined;
  const probe = await openSubscriber(url, PROBE_TOPIC, subscriberToken, (chunk) => {
    if (chunk.includes("data: probe")) probeWaiter?.(performance.now());
  });
  const probeDelivery = () =>
    new Promise<number>((resolve) => {
      probeWaiter = resolve;
    });

  const clients = spawn(process.execPath, [fileURLToPath(import.meta.url), "clients"], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const connected = await new Promise<{ connected: number; seconds: number }>((resolve, reject) => {
    clients.once("message", resolve);
    clients.once("exit", (code) => reject(new Error(`the clients exited (${code})`)));
    clients.send({ hubUrl, count: subscribers - 1, token: subscriberToken } satisfies ClientsRequest);
  });
  const rssAfter = rssKiB(hubProcess.pid!);

  const pagedMs: number[] = [];
  const fullMs: number[] = [];
  let paged = { docs: 0, pages: 0, bytes: 0 };
  let full = { docs: 0, pages: 0, bytes: 0 };
  for (let run = 0; run < runs; run++) {
    let started = performance.now();
    paged = await list(`${subscriptionsUrl}?limit=${page}`);
    pagedMs.push(performance.now() - started);
    started = performance.now();
    full = await list(subscriptionsUrl);
    fullMs.push(performance.now() - started);
  }
  if (paged.docs !== subscribers || full.docs !== subscribers || full.pages !== 1) {
    throw new Error(
      `listed ${paged.docs} in pages and ${full.docs} in ${full.pages} page(s), not ${subscribers}`,
    );
  }

  // Delivery latency, idle and while full listings are being served.
  const idleMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const delivered = probeDelivery();
    const sent = performance.now();
    await send(PROBE_TOPIC);
    idleMs.push((await delivered) - sent);
  }
  const concurrentListings = 4;
  const delivered = probeDelivery();
  const listingsStarted = performance.now();
  const listings = Promise.all(Array.from({ length: concurrentListings }, () => list(subscriptionsUrl)));
  const sent = performance.now();
  const published = send(PROBE_TOPIC);
  const probeAt = await Promise.race([
    delivered,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000).unref()),
  ]);
  await published;
  await listings;
  const listingsMs = performance.now() - listingsStarted;
  const rssAfterListing = rssKiB(hubProcess.pid!);

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const round = (value: number) => Math.round(value * 10) / 10;
  console.log(
    JSON.stringify({
      subscribers,
      connectSeconds: round(connected.seconds),
      hubRssKiB: { before: rssBefore, after: rssAfter, afterListings: rssAfterListing },
      rssPerSubscriptionBytes: Math.round(((rssAfter - rssBefore) * 1024) / subscribers),
      pagedList: {
        pageSize: page,
        pages: paged.pages,
        bytes: paged.bytes,
        ms: pagedMs.map(round),
        medianMs: round(median(pagedMs)),
      },
      fullList: { bytes: full.bytes, ms: fullMs.map(round), medianMs: round(median(fullMs)) },
      deliveryDuringListing: {
        concurrentListings,
        arrived: probeAt !== undefined,
        latencyMs: probeAt === undefined ? null : round(probeAt - sent),
        idleLatencyMedianMs: round(median(idleMs)),
        listingsMs: round(listingsMs),
      },
    }),
  );
  clients.send("stop");
  probe.destroy();
  hubProcess.kill("SIGTERM");
}
