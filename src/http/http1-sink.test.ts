import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { http1Sink } from "./http1-sink.ts";
import { sendProblem } from "./respond.ts";

/** Serves one request with `handle`, sends `request` on a raw socket, resolves with all it read. */
async function exchange(request: string, handle: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const socket = connect(port, "127.0.0.1");
  let received = "";
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
  });
  socket.write(request);
  await new Promise((resolve) => socket.once("close", resolve));
  server.close();
  return received;
}

const GET = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

describe("http1Sink", () => {
  it("sends the head with the first events, as one chunk, and the last chunk at the end", async () => {
    const received = await exchange(GET, (req, res) => {
      const sink = http1Sink(req, res, { "Access-Control-Allow-Origin": "https://app.example" });
      sink.start("urn:uuid:anchor");
      sink.write([Buffer.from(":\n"), Buffer.from("data: a\n\n")], 11);
      sink.end(1000);
    });
    const [head, body] = received.split("\r\n\r\n", 2) as [string, string];
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, /\r\nAccess-Control-Allow-Origin: https:\/\/app\.example/);
    assert.match(head, /\r\nMercure-Last-Event-ID: urn:uuid:anchor/);
    assert.match(head, /\r\nContent-Type: text\/event-stream/);
    assert.equal(received.slice(head.length + 4), "b\r\n:\ndata: a\n\n\r\n0\r\n\r\n");
    assert.equal(body.startsWith("b\r\n"), true);
  });

  it("drops the connection rather than answer a second time when the stream fails", async () => {
    const received = await exchange(GET, (req, res) => {
      const sink = http1Sink(req, res, {});
      sink.start(undefined);
      sink.write([Buffer.from(":\n")], 2);
      sendProblem(res, "internal_error", "the replay failed");
    });
    assert.equal(received.match(/HTTP\/1\.1 /g)?.length, 1);
    assert.doesNotMatch(received, /problem\+json/);
    assert.doesNotMatch(received, /0\r\n\r\n$/, "a cut stream must not look ended cleanly");
  });

  it("writes the anchor as its UTF-8 bytes, and earliest for one no header can carry", async () => {
    for (const [anchor, expected, legacy] of [
      ["日本-1", Buffer.from("日本-1"), true],
      ['📚 "q"', Buffer.from('📚 "q"'), false],
      ["a\r\nSet-Cookie: evil=1", Buffer.from("earliest"), true],
      [" spaced ", Buffer.from("earliest"), false],
      ["\uD800", Buffer.from("earliest"), false],
    ] as const) {
      const received = await exchange(GET, (req, res) => {
        const sink = http1Sink(req, res, {}, { legacyAnchorHeader: legacy });
        sink.start(anchor);
        sink.end(1000);
      });
      const head = Buffer.from(received.split("\r\n\r\n", 1)[0]!, "latin1");
      assert.ok(
        head.includes(
          Buffer.concat([Buffer.from("\r\nMercure-Last-Event-ID: "), expected, Buffer.from("\r\n")]),
        ),
      );
      assert.equal(head.includes(Buffer.concat([Buffer.from("\r\nLast-Event-ID: "), expected])), legacy);
      assert.doesNotMatch(received, /Set-Cookie/);
    }
  });

  it("refuses a header value that would split the response", async () => {
    let thrown: unknown;
    await exchange(GET, (req, res) => {
      const sink = http1Sink(req, res, { "X-Bad": "a\r\nSet-Cookie: evil=1" });
      try {
        sink.start(undefined);
      } catch (error) {
        thrown = error;
      }
      res.destroy();
    });
    assert.equal((thrown as { code?: string }).code, "ERR_INVALID_CHAR");
  });
});
