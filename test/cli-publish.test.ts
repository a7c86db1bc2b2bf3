import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SseEvent } from "../src/protocol/sse-parser.ts";
import { type Run, runCli } from "./helpers/cli-run.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { startTestHub, type TestHub } from "./helpers/test-hub.ts";

const TOPIC = "https://example.com/books/1";

/** The CLI with nothing but PATH and `env`. */
function cli(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return runCli(["publish", ...args], { PATH: process.env.PATH ?? "", ...env });
}

/** The CLI with `input` on its standard input. */
function cliWithInput(args: readonly string[], env: Record<string, string>, input: string): Promise<Run> {
  return runCli(["publish", ...args], { PATH: process.env.PATH ?? "", ...env }, input);
}

/** Waits until `stream` delivered the event `id`, and returns it. */
async function eventWithId(stream: Stream, id: string): Promise<SseEvent> {
  for (let count = 1; ; count++) {
    const event = (await stream.waitForEvents(count))[count - 1]!;
    if (event.id === id) return event;
  }
}

describe("quicksilver publish", () => {
  let hub: TestHub;
  let token: string;
  let watcher: Stream;

  before(async () => {
    hub = await startTestHub();
    token = await hub.token({ publish: [TOPIC, "https://example.com/alt"] });
    watcher = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { Authorization: `Bearer ${await hub.token({ subscribe: ["*"] })}` },
    });
  });
  after(async () => {
    watcher.close();
    await hub.close();
  });

  it("publishes and prints the id; a subscriber receives the update", async () => {
    const run = await cli([
      hub.hubUrl,
      "--topic",
      TOPIC,
      "--topic",
      "https://example.com/alt",
      "--data",
      "hello",
      "--type",
      "book.updated",
      "--retry",
      "1500",
      "--private",
      "--token",
      token,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^urn:uuid:[0-9a-f-]{36}$/);
    assert.deepEqual(await eventWithId(watcher, id), {
      id,
      data: "hello",
      type: "book.updated",
      retry: 1500,
    });
  });

  it("prints {id, attempts} with --json, reading the token from MERCURE_PUBLISHER_TOKEN", async () => {
    const run = await cli([hub.hubUrl, "--topic", TOPIC, "--id", "book-1-rev-2", "--json"], {
      MERCURE_PUBLISHER_TOKEN: token,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { id: "book-1-rev-2", attempts: 1 });
    assert.equal((await eventWithId(watcher, "book-1-rev-2")).data, "");
  });

  it("reads the data from standard input with --data-file -, and the token from --token-env", async () => {
    const data = '{"title": "Dune"}\nsecond line';
    const run = await cliWithInput(
      [hub.hubUrl, "--topic", TOPIC, "--data-file", "-", "--token-env", "BOOKS_TOKEN"],
      { BOOKS_TOKEN: token },
      data,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await eventWithId(watcher, run.stdout.trim())).data, data);
  });

  it("reads the data from a file", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "quicksilver-publish-")), "update.json");
    writeFileSync(file, '{"pages": 412}');
    const run = await cli([hub.hubUrl, "--topic", TOPIC, "--data-file", file, "--token", token]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await eventWithId(watcher, run.stdout.trim())).data, '{"pages": 412}');
  });

  it("exits 1 on a refusal, printing the status, code and detail but never the token", async () => {
    const run = await cli([hub.hubUrl, "--topic", "https://example.com/not-granted", "--data", "x"], {
      MERCURE_PUBLISHER_TOKEN: token,
    });
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.match(
      run.stderr,
      /403 insufficient_scope: the token does not grant publish on https:\/\/example\.com\/not-granted/,
    );
    assert.ok(!run.stderr.includes(token), "the token is not printed");
    assert.ok(!run.stderr.includes(token.split(".")[1]!), "no part of the token is printed");
  });

  it("exits 1 on a token the hub refuses, without printing it", async () => {
    const forged = await hub.token({ publish: ["*"], key: "another-secret-that-is-long-enough-for-hs256" });
    const run = await cli([hub.hubUrl, "--topic", TOPIC, "--token", forged]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /401 token_invalid/);
    assert.ok(!run.stderr.includes(forged.split(".")[2]!), "the token is not printed");
  });

  it("exits 1 when the hub cannot be reached", async () => {
    const gone = await startTestHub();
    const url = gone.hubUrl;
    await gone.close();
    const run = await cli([url, "--topic", TOPIC, "--retries", "0", "--token", token]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /could not reach the hub/);
  });

  const usage: [string, string[], Record<string, string>, RegExp][] = [
    ["no hub", ["--topic", TOPIC], {}, /hub's URL/],
    ["two hubs", ["http://a.test/hub", "http://b.test/hub", "--topic", TOPIC], {}, /one hub URL/],
    ["a hub that is no URL", ["not a url", "--topic", TOPIC], {}, /http:\/\/ or https:\/\//],
    ["a hub that is not HTTP", ["ftp://a.test/hub", "--topic", TOPIC], {}, /http:\/\/ or https:\/\//],
    ["no topic", ["http://a.test/hub"], {}, /--topic/],
    [
      "--data with --data-file",
      ["http://a.test/hub", "--topic", TOPIC, "--data", "x", "--data-file", "-"],
      {},
      /--data or --data-file/,
    ],
    [
      "a missing --data-file",
      ["http://a.test/hub", "--topic", TOPIC, "--data-file", "/nonexistent/update"],
      {},
      /--data-file .* cannot be read: ENOENT/,
    ],
    [
      "a --retry that is not digits",
      ["http://a.test/hub", "--topic", TOPIC, "--retry", "1.5s"],
      {},
      /--retry/,
    ],
    [
      "a --retries that is not a count",
      ["http://a.test/hub", "--topic", TOPIC, "--retries", "-1"],
      {},
      /--retries/,
    ],
    [
      "--token with --token-env",
      ["http://a.test/hub", "--topic", TOPIC, "--token", "t", "--token-env", "X"],
      {},
      /--token or --token-env/,
    ],
    [
      "--token-env naming an unset variable",
      ["http://a.test/hub", "--topic", TOPIC, "--token-env", "UNSET_TOKEN"],
      {},
      /--token-env names UNSET_TOKEN/,
    ],
    ["an unknown flag", ["http://a.test/hub", "--topic", TOPIC, "--colour"], {}, /--colour/],
  ];
  for (const [name, args, env, message] of usage) {
    it(`exits 2 on a usage error: ${name}`, async () => {
      const run = await cli(args, env);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.equal(run.stdout, "");
    });
  }

  it("prints its usage with --help", async () => {
    const run = await cli(["--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Usage: quicksilver publish <hub> --topic TOPIC/);
    assert.match(run.stdout, /MERCURE_PUBLISHER_TOKEN/);
  });
});
