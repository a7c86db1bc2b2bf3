import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ADAPTERS } from "../bench/harness/adapters.ts";
import { PublishClientPool, publishTemplate } from "../bench/harness/publish-client-pool.ts";
import { type ParsedResponse, ResponseParser } from "../bench/harness/response-parser.ts";
import { createRig } from "../bench/harness/rig.ts";
import type { Target } from "../bench/harness/target.ts";
import { PUBLISH_TOPIC, type PublishCase, publish } from "../bench/scenarios/publish.ts";
import { openRawStream } from "./helpers/raw-stream.ts";

const TINY: PublishCase = { connections: 4, count: 200, bytes: 100, warmup: 20 };

/** The 16-digit sequence number at the start of each event's data, in the order replayed. */
function replayedSequences(body: string): string[] {
  return [...body.matchAll(/^data: (\d{16})x*$/gm)].map((match) => match[1]!);
}

/** Subscribes from the oldest stored update and resolves with every sequence number replayed. */
async function replayAll(target: Target, expected: number): Promise<string[]> {
  const path = /^GET (\S+) HTTP\/1\.1\r\n/.exec(target.subscribeRequest(PUBLISH_TOPIC))![1]!;
  const stream = await openRawStream(`http://127.0.0.1:${target.port}${path}`, {
    headers: { "Last-Event-ID": "earliest" },
  });
  try {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      stream.until((s) => replayedSequences(s.body()).length >= expected),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 10_000);
      }),
    ]);
    clearTimeout(timer);
    // Anything beyond `expected` would be a duplicate: give it a moment to show.
    await new Promise((resolve) => setTimeout(resolve, 100));
    return replayedSequences(stream.body());
  } finally {
    stream.close();
  }
}

// The publish figures mean something only if every publish counted was sent, answered 2xx, and
// (with durable history) stored: through each hub's adapter, with the history the scenario asks for.
describe("the publish scenario", () => {
  for (const [name, adapter] of Object.entries(ADAPTERS)) {
    it(`publishes every request once and times each, through the ${name} adapter`, {
      timeout: 60_000,
    }, async () => {
      const target = await adapter.start(publish.hubOptions?.(TINY));
      const rig = createRig(false);
      try {
        const result = await publish.run(target, TINY, rig);
        assert.equal(result.completed, 200, result.invalid);
        assert.equal(result.failed, 0, result.firstFailure);
        assert.equal(result.latency.count, result.completed);
        assert.ok(result.latency.p50 > 0 && result.latency.max >= result.latency.p99);
        assert.ok(result.publishesPerSecond > 0);
        if (name === "quicksilver") {
          // Warm-up and measured publishes, each stored exactly once with its own body.
          const expected = TINY.warmup + TINY.count!;
          const sequences = await replayAll(target, expected);
          assert.equal(sequences.length, expected);
          assert.equal(new Set(sequences).size, expected);
        }
      } finally {
        await rig.close();
        await target.stop();
      }
    });
  }

  it("times every publish, and counts what the hub refuses as failed", { timeout: 60_000 }, async () => {
    const target = await ADAPTERS["naive"]!.start();
    const pool = PublishClientPool.start(2, () => {});
    try {
      const template = publishTemplate(target, PUBLISH_TOPIC, 32);
      const run = await pool.run({ port: target.port, template, connections: 3, count: 50 });
      assert.equal(run.completed, 50);
      assert.equal(run.failed, 0);
      assert.equal(run.latencies.length, 50);
      assert.ok(run.latencies.every((latency) => latency > 0));
      // The naive hub answers 404 to any path but /sub and /pub.
      const refused = { ...template, head: template.head.replace(/^POST \S+/, "POST /nowhere") };
      const failing = await pool.run({ port: target.port, template: refused, connections: 3, count: 30 });
      assert.deepEqual([failing.completed, failing.failed, failing.firstFailure], [0, 30, "HTTP 404"]);
    } finally {
      await pool.close();
      await target.stop();
    }
  });
});

describe("the publish clients' response parser", () => {
  const responses = [
    // A body holding what looks like a head and a blank line: skipped by length, not parsed.
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 28\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\nxx",
    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
    "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\ncontent-length: 19\r\n\r\nqueued messages: 1\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno",
  ].join("");
  const expected: ParsedResponse[] = [
    { status: 200, close: false },
    { status: 201, close: false },
    { status: 204, close: false },
    { status: 202, close: false },
    { status: 200, close: false },
    { status: 503, close: true },
  ];
  const bytes = Buffer.from(responses, "latin1");

  function parse(chunks: Buffer[]): { seen: ParsedResponse[]; idle: boolean } {
    const seen: ParsedResponse[] = [];
    const parser = new ResponseParser((response) => seen.push(response));
    for (const chunk of chunks) parser.push(chunk);
    return { seen, idle: parser.idle };
  }

  it("finds back-to-back responses in one chunk", () => {
    assert.deepEqual(parse([bytes]), { seen: expected, idle: true });
  });

  it("finds them whatever byte the stream is cut at", () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      const result = parse([bytes.subarray(0, cut), bytes.subarray(cut)]);
      assert.deepEqual(result, { seen: expected, idle: true }, `cut at ${cut}`);
    }
  });

  it("finds them read one byte at a time", () => {
    const single = Array.from(bytes, (byte) => Buffer.from([byte]));
    assert.deepEqual(parse(single), { seen: expected, idle: true });
  });

  it("reports a response only once all of its body arrived", () => {
    const seen: ParsedResponse[] = [];
    const parser = new ResponseParser((response) => seen.push(response));
    parser.push(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc"));
    assert.equal(seen.length, 0);
    assert.equal(parser.end(), false, "cut short by the close");
    parser.push(Buffer.from("d"));
    assert.deepEqual(seen, [{ status: 200, close: false }]);
  });

  it("ends a response without length at the close", () => {
    const seen: ParsedResponse[] = [];
    const parser = new ResponseParser((response) => seen.push(response));
    parser.push(Buffer.from("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome"));
    parser.push(Buffer.from(" body"));
    assert.equal(seen.length, 0);
    assert.equal(parser.end(), true);
    assert.deepEqual(seen, [{ status: 200, close: true }]);
  });

  it("refuses what is not an HTTP/1.x response", () => {
    const parser = new ResponseParser(() => {});
    assert.throws(() => parser.push(Buffer.from("SSH-2.0-OpenSSH\r\n\r\n")), /status line/);
    const chunked = new ResponseParser(() => {});
    assert.throws(
      () => chunked.push(Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")),
      /chunk size/,
    );
  });
});
