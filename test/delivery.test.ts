import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { countEvents, openRawStream } from "./helpers/raw-stream.ts";
import { watchSubscribeResponses } from "./helpers/server-streams.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

/** Runs `body` against a hub started with `flags` (anonymous subscribers allowed), then closes it. */
async function withHub(
  flags: Record<string, string | boolean>,
  body: (hub: TestHub, send: (topic: string, data?: string) => Promise<string>) => Promise<void>,
): Promise<void> {
  const hub = await startTestHub({ anonymous: true, ...flags });
  const token = await hub.token({ publish: ["*"] });
  const send = async (topic: string, data = "x") => {
    const result = await publish(hub, { topic, data }, { token });
    assert.equal(result.status, 200, result.body);
    return result.body;
  };
  try {
    await body(hub, send);
  } finally {
    await hub.close();
  }
}

async function subscribe(hub: TestHub, parameters: [string, string][] = [["match", "*"]]): Promise<Stream> {
  const stream = await openStream(subscribeUrl(hub.hubUrl, parameters));
  assert.equal(stream.status, 200, stream.status === 200 ? "" : await stream.body);
  return stream;
}

async function refusal(hub: TestHub) {
  const response = await fetch(subscribeUrl(hub.hubUrl, [["match", "*"]]));
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    contentType: response.headers.get("content-type"),
    code: ((await response.json()) as { code: string }).code,
  };
}

const ids = (events: { id: string }[]) => events.map((event) => event.id);

describe("delivery", { timeout: 60_000 }, () => {
  it("sends keep-alive comments on a silent stream", async () => {
    await withHub({ heartbeat: "150ms" }, async (hub) => {
      const stream = await subscribe(hub, [["match", "https://example.com/silent"]]);
      // The comment that starts the stream, then two keep-alives.
      await stream.waitForComments(3);
      assert.deepEqual(stream.events, []);
      assert.deepEqual(stream.sequence.slice(0, 3), ["comment", "comment", "comment"]);
      stream.close();
    });
  });

  it("keeps sending keep-alives between events", async () => {
    await withHub({ heartbeat: "150ms" }, async (hub, send) => {
      const stream = await subscribe(hub, [["match", "https://example.com/beat"]]);
      const first = await send("https://example.com/beat");
      await stream.waitForEvents(1);
      const comments = stream.comments.length;
      await stream.waitForComments(comments + 1);
      const second = await send("https://example.com/beat");
      assert.deepEqual(ids(await stream.waitForEvents(2)), [first, second]);
      stream.close();
    });
  });

  it("drops a subscriber that stops reading, and the others receive every update in order", async () => {
    // A small queue bound: a stalled subscriber is dropped once 128 KB wait for it. The write
    // timeout is out of reach, so only the queue bound can be what drops it.
    const flags = { "max-body-bytes": "65536", "max-queue-bytes": "131072", "write-timeout": "1h" };
    await withHub(flags, async (hub, send) => {
      const watcher = watchSubscribeResponses(hub.server);
      const good = [await subscribe(hub), await subscribe(hub)];
      const stalled = await openRawStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), { read: false });
      // Wait until the hub holds the stalled stream (its response is the third one).
      const data = "s".repeat(32 * 1024);
      const sent: string[] = [];
      // The kernel buffers some megabytes for the stalled socket; past that the hub's queue fills.
      while (watcher.closed === 0) {
        sent.push(await send("https://example.com/flood", data));
        assert.ok(sent.length < 2000, "the stalled subscriber was dropped");
      }
      assert.equal(hub.hub.connectionCount, 2, "only the stalled subscriber was dropped");
      const marker = await send("https://example.com/flood/marker");
      for (const stream of good) {
        assert.deepEqual(ids(await stream.waitForEvents(sent.length + 1)), [...sent, marker]);
        stream.close();
      }
      // The stalled client reads what the kernel had kept for it, then the end: it was cut off.
      stalled.resume();
      await stalled.closed;
      assert.ok(countEvents(stalled.body()) < sent.length, "the stalled subscriber missed updates");
      assert.ok(!stalled.body().includes(marker));
      watcher.stop();
    });
  });

  it("refuses streams beyond max-connections with 429 and Retry-After, until one closes", async () => {
    await withHub({ "max-connections": "2" }, async (hub) => {
      const watcher = watchSubscribeResponses(hub.server);
      const first = await subscribe(hub);
      const second = await subscribe(hub);
      const refused = await refusal(hub);
      assert.equal(refused.status, 429);
      assert.equal(refused.code, "too_many_connections");
      assert.equal(refused.contentType, "application/problem+json");
      assert.match(refused.retryAfter ?? "", /^\d+$/);
      first.close();
      await watcher.waitForClosed(1);
      const third = await subscribe(hub);
      // Exactly one slot was freed: the refused request did not take one.
      assert.equal((await refusal(hub)).status, 429);
      second.close();
      third.close();
      watcher.stop();
    });
  });

  it("refuses streams beyond max-connections-per-client with 429 and Retry-After, until one closes", async () => {
    await withHub({ "max-connections-per-client": "2" }, async (hub) => {
      const watcher = watchSubscribeResponses(hub.server);
      const first = await subscribe(hub);
      const second = await subscribe(hub);
      // A request refused for another reason takes no slot either.
      const bad = await fetch(subscribeUrl(hub.hubUrl, [["match_regex", "x"]]));
      assert.equal(bad.status, 400);
      await bad.text();
      const refused = await refusal(hub);
      assert.equal(refused.status, 429);
      assert.equal(refused.code, "too_many_connections");
      assert.match(refused.retryAfter ?? "", /^\d+$/);
      first.close();
      const closedBefore = watcher.closed;
      await watcher.waitForClosed(closedBefore + 1);
      const third = await subscribe(hub);
      assert.equal((await refusal(hub)).status, 429);
      second.close();
      third.close();
      watcher.stop();
    });
  });

  it("counts a stream the hub closed as gone", async () => {
    await withHub({ "max-connections-per-client": "1", "max-lifetime": "300ms" }, async (hub) => {
      const watcher = watchSubscribeResponses(hub.server);
      const first = await subscribe(hub);
      await first.ended;
      await watcher.waitForClosed(1);
      const second = await subscribe(hub);
      second.close();
      watcher.stop();
    });
  });

  it("registers no stream for a client that left while its token was being verified", async () => {
    await withHub({}, async (hub) => {
      const watcher = watchSubscribeResponses(hub.server);
      // The hub's handler has started (it is verifying the token) when this runs: the client
      // vanishes in the middle of the request, as a reloading browser tab does.
      const vanish = (req: { headers: Record<string, unknown>; socket: { destroy(): void } }) => {
        if (req.headers["x-test-vanish"] !== undefined) req.socket.destroy();
      };
      hub.server.on("request", vanish);
      for (let i = 0; i < 3; i++) {
        // A fresh token each time: a cached one would be verified before the client is gone.
        const token = await hub.token({ subscribe: ["*"], ttlSeconds: 600 + i });
        await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
          headers: { Authorization: `Bearer ${token}`, "x-test-vanish": "1" },
        }).then(
          () => assert.fail("the request was cut"),
          () => undefined,
        );
        await watcher.waitForClosed(i + 1);
      }
      hub.server.off("request", vanish);
      // A stream opened after the others left, verified after theirs: only it is held.
      const token = await hub.token({ subscribe: ["*"], ttlSeconds: 700 });
      const stream = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(stream.status, 200);
      assert.equal(hub.hub.connectionCount, 1, "no stream is held for the clients that left");
      stream.close();
      watcher.stop();
    });
  });

  it("ends streams cleanly after max-lifetime", async () => {
    await withHub({ "max-lifetime": "300ms", heartbeat: "10s" }, async (hub, send) => {
      const stream = await subscribe(hub, [["match", "https://example.com/lifetime"]]);
      const id = await send("https://example.com/lifetime");
      assert.deepEqual(ids(await stream.waitForEvents(1)), [id]);
      assert.equal(await stream.endedCleanly, true, "the response was ended, not cut");
    });
  });

  it("writes the events of one burst to a socket together", async () => {
    await withHub({}, async (hub) => {
      const token = await hub.token({ publish: ["*"] });
      const raw = await openRawStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/burst"]]));
      await raw.until((s) => s.head !== undefined);
      assert.match(raw.head!, /^HTTP\/1\.1 200/);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          publish(hub, { topic: "https://example.com/burst", data: `burst ${i}` }, { token }),
        ),
      );
      for (const result of results) assert.equal(result.status, 200);
      await raw.until((s) => countEvents(s.body()) >= 50);
      const received = [...raw.body().matchAll(/^id: (.*)$/gm)].map((match) => match[1]);
      assert.deepEqual(received.toSorted(), results.map((result) => result.body).toSorted());
      // One HTTP chunk is one write by the hub: several events in one chunk is coalescing.
      assert.ok(
        raw.chunks.some((chunk) => countEvents(chunk) > 1),
        `some write carried several events (events per write: ${raw.chunks.map((c) => countEvents(c))})`,
      );
      assert.ok(
        raw.reads.some((read) => countEvents(read) > 1),
        "some socket read carried several events",
      );
      raw.close();
    });
  });

  it("writes a replay of small events in one write", async () => {
    await withHub({}, async (hub, send) => {
      const sent: string[] = [];
      for (let i = 0; i < 20; i++) sent.push(await send("https://example.com/replayed"));
      const raw = await openRawStream(
        subscribeUrl(hub.hubUrl, [
          ["match", "https://example.com/replayed"],
          ["last_event_id", "earliest"],
        ]),
      );
      await raw.until((s) => countEvents(s.body()) >= 20);
      assert.equal(countEvents(raw.chunks[0]!), 20, "the opening comment and the replay went in one write");
      assert.ok(raw.chunks[0]!.toString().startsWith(":"));
      raw.close();
    });
  });

  it("ends every open stream cleanly on shutdown", async () => {
    const hub = await startTestHub({ anonymous: true });
    const streams = [
      await subscribe(hub),
      await subscribe(hub, [["match", "https://example.com/a"]]),
      await subscribe(hub, [
        ["match_urlpattern", "https://example.com/:x"],
        ["last_event_id", "earliest"],
      ]),
    ];
    await hub.close();
    for (const stream of streams) assert.equal(await stream.endedCleanly, true);
    assert.equal(hub.hub.connectionCount, 0);
  });

  it("streams to a subscribe request pipelined behind a publish on one connection", async () => {
    await withHub({}, async (hub, send) => {
      const url = new URL(hub.hubUrl);
      const token = await hub.token({ publish: ["*"] });
      const body = "topic=https%3A%2F%2Fexample.com%2Fpiped&data=first";
      const socket = connect(Number(url.port), url.hostname);
      let received = "";
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
      });
      // Both requests in one write: the stream's response waits for the publish's to finish.
      socket.write(
        `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
          `GET ${url.pathname}?match=${encodeURIComponent("https://example.com/piped")} HTTP/1.1\r\n` +
          `Host: ${url.host}\r\nAccept: text/event-stream\r\n\r\n`,
      );
      await until(() => received.includes("text/event-stream"));
      await send("https://example.com/piped", "second");
      await until(() => received.includes("data: second"));
      const [publishResponse, streamResponse] = received.split(/(?=HTTP\/1\.1 )/);
      assert.match(publishResponse!, /^HTTP\/1\.1 200 /);
      assert.match(streamResponse!, /^HTTP\/1\.1 200 OK\r\n[\s\S]*transfer-encoding: chunked\r\n/i);
      assert.doesNotMatch(streamResponse!, /data: first/);
      socket.destroy();
    });
  });

  it("sends an HTTP/1.0 subscriber an unchunked stream that ends with the connection", async () => {
    const hub = await startTestHub({ anonymous: true });
    const url = new URL(hub.hubUrl);
    const socket = connect(Number(url.port), url.hostname);
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.write(
      `GET ${url.pathname}?match=${encodeURIComponent("https://example.com/old")} HTTP/1.0\r\n\r\n`,
    );
    await until(() => received.includes("\r\n\r\n"));
    const token = await hub.token({ publish: ["*"] });
    assert.equal(
      (await publish(hub, { topic: "https://example.com/old", data: "plain" }, { token })).status,
      200,
    );
    await until(() => received.includes("data: plain"));
    await hub.close();
    await closed;
    const [head, streamBody] = received.split("\r\n\r\n");
    assert.doesNotMatch(head!, /transfer-encoding/i);
    assert.match(head!, /\r\nconnection: close/i);
    // No chunk sizes around the events: the body is the event stream itself, ended by the
    // reconnection delay a stopping hub tells each stream.
    assert.match(streamBody!, /^:[^\r]*\nid: [^\n]+\ndata: plain\n\nretry: \d+\n\n$/);
  });
});

/** Resolves once `condition` holds, polling every few milliseconds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
