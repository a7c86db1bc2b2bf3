import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, constants } from "node:http2";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { createProtocolServers } from "../src/server/protocol-servers.ts";

describe("the protocol servers", () => {
  it("reset an HTTP/2 request whose body has not arrived within the request timeout", {
    timeout: 10_000,
  }, async () => {
    const servers = createProtocolServers({
      tls: undefined,
      h2c: true,
      headersTimeoutMs: 100,
      requestTimeoutMs: 200,
      maxStreamsPerConnection: 10,
    });
    servers.onRequest((req, res) => {
      req.resume();
      req.on("end", () => res.end("whole"));
    });
    await new Promise<void>((resolve) => servers.listener.listen(0, "127.0.0.1", resolve));
    const { port } = servers.listener.address() as AddressInfo;
    const session = connect(`http://127.0.0.1:${port}`);
    try {
      const whole = session.request({ ":method": "POST", ":path": "/" });
      whole.end("all of it");
      whole.setEncoding("utf8");
      let answer = "";
      whole.on("data", (chunk: string) => {
        answer += chunk;
      });
      await once(whole, "end");
      assert.equal(answer, "whole");

      const trickling = session.request({ ":method": "POST", ":path": "/" });
      trickling.on("error", () => {});
      trickling.write("the start, and never the end");
      await once(trickling, "close");
      assert.equal(trickling.rstCode, constants.NGHTTP2_CANCEL);
      assert.equal(session.closed, false);
    } finally {
      session.close();
      await new Promise((resolve) => servers.listener.close(resolve));
      servers.release();
    }
  });
});
