import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { type CapturedLog, captureLog, type LogEntry } from "./helpers/captured-log.ts";
import { startTestHub, type TestHub } from "./helpers/test-hub.ts";

/**
 * A client that sends the head of a publish or a QUERY and leaves before the end of its body
 * leaves nothing to answer. Any client can do it, with no token, as often as it likes: the hub
 * must drop the request quietly (at debug level, as any request whose connection failed), not log
 * an error with a stack trace each time.
 */
describe("a request whose client leaves in the middle of its body", { timeout: 30_000 }, () => {
  let log: CapturedLog;
  let hub: TestHub;
  let token: string;

  before(async () => {
    log = captureLog();
    hub = await startTestHub({ anonymous: true }, log.logger);
    token = await hub.token({ publish: ["*"] });
  });
  after(async () => {
    await hub.close();
  });

  /** Writes `head` and part of a body, then closes the connection before the rest. */
  function sendAndLeave(head: string, partialBody: string): Promise<void> {
    const url = new URL(hub.hubUrl);
    return new Promise((resolve) => {
      const socket = connect(Number(url.port), url.hostname);
      socket.on("error", () => {});
      socket.once("close", () => resolve());
      socket.write(head + partialBody, () => socket.destroy());
    });
  }

  const requests = {
    "a publish with Content-Length": () =>
      [
        `POST /.well-known/mercure HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer ${token}\r\n` +
          "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n",
        "topic=https%3A%2F%2Fexample.com%2F",
        "POST",
      ] as const,
    "a publish in chunks, without a token": () =>
      [
        "POST /.well-known/mercure HTTP/1.1\r\nHost: h\r\n" +
          "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n",
        "5\r\ntopic\r\n",
        "POST",
      ] as const,
    "a QUERY subscription": () =>
      [
        "QUERY /.well-known/mercure HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\n" +
          "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n",
        "match=https%3A%2F%2Fexample.com%2F",
        "QUERY",
      ] as const,
  };

  for (const [what, request] of Object.entries(requests)) {
    it(`drops ${what} at debug level, logging no error`, async () => {
      const [head, partialBody, method] = request();
      const logged = log.entries.length;
      await sendAndLeave(head, partialBody);
      const outcome = (entry: LogEntry) =>
        entry.level === "error" ||
        (entry.message?.startsWith("request dropped") === true && entry.fields.method === method);
      const entry = await log.waitFor(outcome, logged);
      assert.equal(entry.level, "debug", `logged: ${entry.message} ${String(entry.fields.err)}`);
      const errors = log.entries.slice(logged).filter((logEntry) => logEntry.level === "error");
      assert.deepEqual(errors, [], "nothing logged at error level");
    });
  }
});
