import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { BIN, type Run, runCli } from "./helpers/cli-run.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

const TOPIC = "https://example.com/books/1";

/** The CLI with nothing but PATH and `env`. */
function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return runCli(["subscribe", ...args], { PATH: process.env.PATH ?? "", ...env });
}

describe("quicksilver subscribe", () => {
  let hub: TestHub;
  let legacyHub: TestHub;
  let publisher: string;
  let subscriber: string;
  const sent: string[] = [];

  before(async () => {
    hub = await startTestHub({ "history-size": "3" });
    legacyHub = await startTestHub({ legacy: true, anonymous: true });
    publisher = await hub.token({ publish: ["*"] });
    subscriber = await hub.token({ subscribe: [TOPIC] });
    for (const data of ['{"title":"Dune"}', "line 1\nline 2"]) {
      const result = await publish(hub, { topic: TOPIC, data, private: "on" }, { token: publisher });
      assert.equal(result.status, 200);
      sent.push(result.body);
    }
  });
  after(async () => {
    await hub.close();
    await legacyHub.close();
  });

  it("prints updates as NDJSON with --json, from a cursor, with the token from the environment", async () => {
    const run = await cli(
      [hub.hubUrl, "--match", TOPIC, "--last-event-id", "earliest", "--count", "2", "--json"],
      {
        MERCURE_SUBSCRIBER_TOKEN: subscriber,
      },
    );
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map(({ id, type, data }) => ({ id, type, data })),
      [
        { id: sent[0], type: "message", data: '{"title":"Dune"}' },
        { id: sent[1], type: "message", data: "line 1\nline 2" },
      ],
    );
    assert.ok(lines.every((line) => !Number.isNaN(Date.parse(line.received))));
    assert.match(run.stderr, /subscribed, resuming after earliest/);
  });

  it("prints each update's id, then its data indented", async () => {
    const run = await cli(
      [hub.hubUrl, "--match", TOPIC, "--last-event-id", sent[0]!, "--count", "1", "--token-env", "MY_TOKEN"],
      { MY_TOKEN: subscriber },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${sent[1]}\n  line 1\n  line 2\n\n`);
  });

  it("shows control characters in the data escaped: a publisher cannot drive the terminal", async () => {
    const result = await publish(
      hub,
      { topic: TOPIC, data: "\u001b]0;pwned\u0007\u001b[2Jclear\ttab", private: "on" },
      { token: publisher },
    );
    const run = await cli([hub.hubUrl, "--match", TOPIC, "--last-event-id", sent[1]!, "--count", "1"], {
      MERCURE_SUBSCRIBER_TOKEN: subscriber,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${result.body}\n  \\u001b]0;pwned\\u0007\\u001b[2Jclear\ttab\n\n`);
  });

  it("says on standard error when history no longer has the cursor", async () => {
    const run = await cli(
      [hub.hubUrl, "--match", TOPIC, "--last-event-id", "urn:uuid:forgotten", "--count", "1", "--json"],
      { MERCURE_SUBSCRIBER_TOKEN: subscriber },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /no longer has urn:uuid:forgotten: everything it keeps follows/);
    assert.equal(JSON.parse(run.stdout).id, sent[0]);
  });

  it("receives live updates until interrupted, then exits 0", async () => {
    const child = spawn(process.execPath, [BIN, "subscribe", hub.hubUrl, "--match", TOPIC, "--json"], {
      env: { PATH: process.env.PATH ?? "", MERCURE_SUBSCRIBER_TOKEN: subscriber },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    await new Promise<void>((resolve) =>
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
        if (stderr.includes("subscribed")) resolve();
      }),
    );
    const result = await publish(hub, { topic: TOPIC, data: "live", private: "on" }, { token: publisher });
    await new Promise<void>((resolve) =>
      child.stdout.on("data", () => {
        if (stdout.includes("\n")) resolve();
      }),
    );
    child.kill("SIGINT");
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(
      stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line).id),
      [result.body],
    );
  });

  it("speaks the legacy dialect with --legacy", async () => {
    const result = await publish(
      legacyHub,
      { topic: "https://example.com/legacy/1", data: "old" },
      { token: await legacyHub.token({ publish: ["*"] }) },
    );
    assert.equal(result.status, 200, result.body);
    const run = await cli([
      legacyHub.hubUrl,
      "--legacy",
      "--topic",
      "https://example.com/legacy/{id}",
      "--last-event-id",
      "earliest",
      "--count",
      "1",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${result.body}\n  old\n\n`);
  });

  it("exits 1 with the hub's refusal, never printing the token", async () => {
    const forged = `${subscriber.slice(0, -4)}AAAA`;
    const run = await cli([hub.hubUrl, "--match", TOPIC, "--token", forged]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /401/);
    assert.ok(
      !`${run.stdout}${run.stderr}`.includes(forged.split(".")[1]!),
      "no part of the token is printed",
    );
  });

  for (const [args, message] of [
    [[], /give the hub's URL/],
    [["--match", TOPIC], /give the hub's URL/],
    [["http://127.0.0.1:1/.well-known/mercure"], /give --match/],
    [
      ["http://127.0.0.1:1/.well-known/mercure", "--topic", TOPIC],
      /--topic is the legacy dialect's selector/,
    ],
    [["http://127.0.0.1:1/.well-known/mercure", "--match", TOPIC, "--count", "0"], /--count takes a number/],
    [["ftp://example.com/hub", "--match", TOPIC], /http:\/\/ or https:\/\//],
    [["http://127.0.0.1:1/.well-known/mercure", "--match", TOPIC, "--nope"], /nope/],
  ] as const) {
    it(`refuses ${JSON.stringify(args)} as a usage error`, async () => {
      const run = await cli(args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    });
  }
});
