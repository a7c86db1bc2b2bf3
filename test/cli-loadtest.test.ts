/**
 * `quicksilver loadtest` against real hubs (`quicksilver serve` in their own processes), over
 * real sockets, with few subscribers: every delivery is counted, the figures hold together, the
 * tokens never show, and each way a run can end has its exit status.
 */
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { loadtestOptions } from "../src/cli/loadtest-command.ts";
import { UsageError } from "../src/cli/usage-error.ts";
import type { LoadtestReport } from "../src/loadtest/run-loadtest.ts";
import { certificateDir } from "./helpers/certificate.ts";
import { type Run, runCli } from "./helpers/cli-run.ts";
import { type HubProcess, sharedToken, startHubProcess } from "./helpers/hub-process.ts";

const SUBSCRIBERS = 4;
const RATE = 20;
/** RATE × 1 s: the updates a run publishes. */
const UPDATES = 20;

let publisherToken: string;
let subscriberToken: string;

/** Runs `quicksilver loadtest` with the tokens in the environment, as users are told to. */
function loadtest(args: readonly string[]): Promise<Run> {
  return runCli(["loadtest", ...args], {
    PATH: process.env.PATH ?? "",
    PUBLISHER_TOKEN: publisherToken,
    SUBSCRIBER_TOKEN: subscriberToken,
  });
}

/** The arguments of a small run against `hub`, both tokens given. */
function smallRun(hub: HubProcess, ...more: string[]): string[] {
  return [
    hub.hubUrl,
    ...["--subscribers", String(SUBSCRIBERS), "--rate", String(RATE), "--duration", "1s"],
    ...["--token-env", "PUBLISHER_TOKEN", "--subscriber-token-env", "SUBSCRIBER_TOKEN"],
    ...more,
  ];
}

function assertNoToken(run: Run): void {
  for (const token of [publisherToken, subscriberToken]) {
    assert.ok(!run.stdout.includes(token) && !run.stderr.includes(token), "a token was printed");
  }
}

/** What a complete run reports, checked figure by figure. */
function assertComplete(report: LoadtestReport): void {
  assert.deepEqual(report.subscribers, {
    requested: SUBSCRIBERS,
    connected: SUBSCRIBERS,
    accepted: SUBSCRIBERS,
    refused: {},
    failed: {},
    unanswered: 0,
    closedEarly: 0,
  });
  assert.equal(report.updates.sent, UPDATES);
  assert.equal(report.updates.acknowledged, UPDATES);
  assert.equal(report.updates.failed, 0);
  assert.equal(report.deliveries.expected, SUBSCRIBERS * UPDATES);
  assert.equal(report.deliveries.received, SUBSCRIBERS * UPDATES);
  assert.ok(report.deliveries.perSecond > 0);
  const latency = report.latencyMs;
  assert.ok(latency !== null, "latencies were measured");
  assert.ok(latency.p50 >= 0, `p50 ${latency.p50}`);
  assert.ok(
    latency.p50 <= latency.p90 && latency.p90 <= latency.p99 && latency.p99 <= latency.max,
    JSON.stringify(latency),
  );
  assert.deepEqual(report.errors, []);
}

describe("quicksilver loadtest", () => {
  let hub: HubProcess;
  let legacyHub: HubProcess;

  before(async () => {
    // Memory transports: two hubs cannot share the default history store.
    hub = await startHubProcess(["--transport", "memory"]);
    legacyHub = await startHubProcess(["--transport", "memory", "--legacy"]);
    publisherToken = await sharedToken({ publish: ["*"] });
    subscriberToken = await sharedToken({ subscribe: ["*"] });
  });
  after(async () => {
    await Promise.all([hub?.stop(), legacyHub?.stop()]);
  });

  it("reports every delivery received, as JSON", async () => {
    const run = await loadtest(smallRun(hub, "--json"));
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as LoadtestReport;
    assert.deepEqual(Object.keys(report), [
      "hub",
      "topic",
      "dialect",
      "subscribers",
      "updates",
      "deliveries",
      "latencyMs",
      "errors",
    ]);
    assert.equal(report.hub, hub.hubUrl);
    assert.equal(report.dialect, "draft");
    assert.match(report.topic, /^urn:uuid:/);
    assert.deepEqual(report.updates, {
      rate: RATE,
      durationSeconds: 1,
      dataBytes: 64,
      sent: UPDATES,
      acknowledged: UPDATES,
      failed: 0,
      failures: {},
    });
    assertComplete(report);
    assertNoToken(run);
  });

  it("prints a table by default, the figures the JSON has", async () => {
    const topic = "https://example.com/books/1";
    const run = await loadtest(smallRun(hub, "--topic", topic, "--size", "200"));
    assert.equal(run.code, 0, run.stderr);
    const expected = SUBSCRIBERS * UPDATES;
    const lines = run.stdout.split("\n");
    assert.ok(
      lines.some((line) => /^topic\s+https:\/\/example\.com\/books\/1 \(match=\)$/.test(line)),
      run.stdout,
    );
    assert.ok(
      lines.some((line) => /^subscribers\s+4 requested, 4 connected, 4 accepted, 0 refused$/.test(line)),
      run.stdout,
    );
    assert.ok(
      lines.some((line) =>
        /^updates\s+20 sent at 20\/s for 1 s \(200 B of data\), 20 acknowledged, 0 failed$/.test(line),
      ),
      run.stdout,
    );
    assert.ok(
      lines.some((line) =>
        new RegExp(`^deliveries\\s+${expected} expected, ${expected} received \\(100\\.00%\\), \\d`).test(
          line,
        ),
      ),
      run.stdout,
    );
    const latency = lines.find((line) => line.startsWith("latency"));
    const [p50, p90, p99, max] = [...(latency ?? "").matchAll(/([\d.]+) ms/g)].map((m) => Number(m[1]));
    assert.ok(p50! <= p90! && p90! <= p99! && p99! <= max!, latency);
    assert.ok(
      lines.some((line) => /^errors\s+none$/.test(line)),
      run.stdout,
    );
    assertNoToken(run);
  });

  it("subscribes with topic= against a hub speaking the legacy dialect", async () => {
    const run = await loadtest(smallRun(legacyHub, "--legacy", "--json"));
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as LoadtestReport;
    assert.equal(report.dialect, "legacy");
    assertComplete(report);
  });

  it("tests a hub served over TLS, checking its certificate", async () => {
    const certs = certificateDir();
    const { certFile, keyFile } = certs.generate("hub");
    const tlsHub = await startHubProcess(["--transport", "memory", "--cert", certFile, "--key", keyFile]);
    try {
      assert.match(tlsHub.hubUrl, /^https:/);
      const args = smallRun(tlsHub, "--json");
      const env = {
        PATH: process.env.PATH ?? "",
        PUBLISHER_TOKEN: publisherToken,
        SUBSCRIBER_TOKEN: subscriberToken,
      };
      const untrusted = await runCli(["loadtest", ...args], env);
      assert.equal(untrusted.code, 1, "a certificate nobody trusts is refused");
      assert.match(untrusted.stderr, /cannot reach https:.*certificate/);
      const run = await runCli(["loadtest", ...args], { ...env, NODE_EXTRA_CA_CERTS: certFile });
      assert.equal(run.code, 0, run.stderr);
      assertComplete(JSON.parse(run.stdout) as LoadtestReport);
    } finally {
      await tlsHub.stop();
      certs.remove();
    }
  });

  it("reports subscribers the hub refused, with their status, and exits 0", async () => {
    const run = await runCli(
      [
        "loadtest",
        hub.hubUrl,
        "--subscribers",
        "3",
        "--rate",
        "10",
        "--duration",
        "1",
        "--token-env",
        "T",
        "--json",
      ],
      { PATH: process.env.PATH ?? "", T: publisherToken },
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as LoadtestReport;
    assert.equal(report.subscribers.connected, 3);
    assert.equal(report.subscribers.accepted, 0);
    assert.deepEqual(report.subscribers.refused, { "401 Unauthorized": 3 });
    assert.equal(report.updates.acknowledged, 10);
    assert.deepEqual(report.deliveries, { expected: 0, received: 0, perSecond: 0 });
    assert.equal(report.latencyMs, null);
    assert.deepEqual(report.errors, ["3 subscriber(s) refused: 401 Unauthorized"]);
  });

  it("exits 1 when the hub refuses the publisher", async () => {
    const run = await runCli(["loadtest", hub.hubUrl, "--subscribers", "2", "--duration", "1", "--json"], {
      PATH: process.env.PATH ?? "",
    });
    assert.equal(run.code, 1);
    assert.deepEqual(JSON.parse(run.stdout).error.code, "publisher_refused");
    assert.match(run.stderr, /refused the publisher: 401 Unauthorized/);
  });

  it("exits 1 when the hub cannot be reached", async () => {
    const port = await closedPort();
    const run = await loadtest([
      `http://127.0.0.1:${port}/.well-known/mercure`,
      "--token-env",
      "PUBLISHER_TOKEN",
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /cannot reach http:\/\/127\.0\.0\.1:\d+\/\.well-known\/mercure: .*ECONNREFUSED/);
    assert.equal(run.stdout, "");
    assertNoToken(run);
  });

  it("prints its usage with --help", async () => {
    const run = await loadtest(["--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: quicksilver loadtest <hub-url>/);
  });

  // Through the command line: the exit status and the pointer to --help.
  const cliUsageErrors: [string, string[], RegExp][] = [
    ["no hub URL", [], /give one hub URL/],
    ["too many subscribers", ["http://hub.test/", "--subscribers", "25001"], /MAX_SUBSCRIBERS/],
    ["an unknown option", ["http://hub.test/", "--subscribe", "x"], /Unknown option/],
  ];
  for (const [what, args, message] of cliUsageErrors) {
    it(`exits 2 on ${what}`, async () => {
      const run = await loadtest(args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /quicksilver loadtest --help/);
      assert.equal(run.stdout, "");
    });
  }

  // The same UsageError (exit status 2) from every other bound, read in this process.
  const usageErrors: [string, string[], RegExp][] = [
    ["two hub URLs", ["http://a.test/", "http://b.test/"], /give one hub URL/],
    ["a URL that is not http", ["ftp://hub.test/"], /must be http or https/],
    ["credentials in the URL", ["http://user:pw@hub.test/"], /must not carry credentials/],
    ["a query in the URL", ["http://hub.test/?topic=x"], /no query/],
    ["no subscriber", ["http://hub.test/", "--subscribers", "0"], /--subscribers takes a whole number/],
    ["too many per process", ["http://hub.test/", "--subscribers", "20000"], /give --processes 2 or more/],
    ["too many processes", ["http://hub.test/", "--processes", "33"], /MAX_PROCESSES/],
    ["a rate too high", ["http://hub.test/", "--rate", "10001"], /MAX_RATE/],
    ["a rate of zero", ["http://hub.test/", "--rate", "0"], /--rate takes a number above 0/],
    ["a duration too long", ["http://hub.test/", "--duration", "2h"], /MAX_DURATION_MS/],
    ["a malformed duration", ["http://hub.test/", "--duration", "soon"], /--duration takes/],
    ["no update at all", ["http://hub.test/", "--rate", "1", "--duration", "100ms"], /publishes no update/],
    [
      "data too small for the stamp",
      ["http://hub.test/", "--size", "8"],
      /--size takes a whole number from 32/,
    ],
    ["data too large", ["http://hub.test/", "--size", "1048577"], /MAX_DATA_BYTES/],
    ["an empty topic", ["http://hub.test/", "--topic", ""], /MAX_TOPIC_LENGTH/],
    [
      "both token flags",
      ["http://hub.test/", "--token", "abc", "--token-env", "PUBLISHER_TOKEN"],
      /not both/,
    ],
    ["an unset token variable", ["http://hub.test/", "--token-env", "NOT_SET"], /NOT_SET, which is not set/],
    [
      "a token that is no bearer token",
      ["http://hub.test/", "--subscriber-token", "a\r\nX: y"],
      /not a bearer token/,
    ],
  ];
  for (const [what, args, message] of usageErrors) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => loadtestOptions(args, { PUBLISHER_TOKEN: "abc" }),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
      );
    });
  }

  it("takes the defaults the usage gives", () => {
    const { options, json } = loadtestOptions(["http://hub.test/.well-known/mercure"], {});
    assert.equal(json, false);
    assert.equal(options.subscribers, 100);
    assert.equal(options.rate, 10);
    assert.equal(options.durationMs, 10_000);
    assert.equal(options.dataBytes, 64);
    assert.equal(options.processes, 1);
    assert.equal(options.dialect, "draft");
    assert.equal(options.publisherToken, undefined);
    assert.equal(options.subscriberToken, undefined);
    assert.notEqual(
      loadtestOptions(["http://hub.test/"], {}).options.topic,
      options.topic,
      "each run its own topic",
    );
  });
});

/** A loopback port nothing listens on (one just closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
