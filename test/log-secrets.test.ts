import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { before, describe, it } from "node:test";
import { mintToken } from "../src/auth/mint.ts";
import { startHubProcess } from "./helpers/hub-process.ts";
import { legacyToken } from "./helpers/legacy.ts";
import { startRedisServer } from "./helpers/redis-server.ts";
import { openStream, subscribeUrl } from "./helpers/sse-client.ts";
import { ISSUER, SECRET } from "./helpers/test-hub.ts";

const TOPIC = "https://example.com/orders/1";
const APP_ORIGIN = "https://app.example";
const COOKIE = "__Secure-mercure_access_token";

/** A marker no log line could hold by chance. */
const marker = (what: string) => `${what}${randomBytes(12).toString("hex")}`;

/**
 * A whole `quicksilver serve` process logging everything it can (trace, request lines at info),
 * put through every way a secret reaches the hub: tokens in the Authorization header, in a cookie
 * and in the legacy `authorization` query parameter, good and bad, private and public update data,
 * an HMAC key and a Redis password in its configuration. Then every secret is looked for in all
 * it printed.
 */
describe("logs never hold a secret", () => {
  const secrets = new Map<string, string>();
  let output = "";

  before(async () => {
    const password = marker("redispass");
    secrets.set("the HMAC key", SECRET);
    secrets.set("the Redis password", password);
    const redis = await startRedisServer({ password });
    const hub = await startHubProcess([
      "--log-level",
      "trace",
      "--request-log-level",
      "info",
      "--legacy",
      "--subscriber-key",
      SECRET,
      "--transport",
      redis.url,
      "--publish-origins",
      APP_ORIGIN,
    ]);
    try {
      const audience = "https://hub.example/.well-known/mercure";
      const token = (grants: { publish?: string[]; subscribe?: string[]; key?: string }) =>
        mintToken({ issuer: ISSUER, audience, key: SECRET, ...grants });
      const publisher = await token({ publish: ["*"] });
      const cookiePublisher = await token({ publish: [TOPIC] });
      const subscriber = await legacyToken({ subscribe: [TOPIC] });
      const forged = await token({ publish: ["*"], key: "another-secret-long-enough-for-hs256!!" });
      const forgedSubscriber = await legacyToken(
        { subscribe: ["*"] },
        "another-secret-long-enough-for-hs256!!",
      );
      const garbage = marker("garbage");
      secrets.set("the publisher's bearer token", publisher);
      secrets.set("the cookie's token", cookiePublisher);
      secrets.set("the legacy query token", subscriber);
      secrets.set("a forged bearer token", forged);
      secrets.set("a forged query token", forgedSubscriber);
      secrets.set("a token that is no JWT", garbage);

      // A subscriber with the legacy `authorization` query parameter, reading private updates.
      const stream = await openStream(
        subscribeUrl(hub.hubUrl, [
          ["topic", TOPIC],
          ["authorization", subscriber],
        ]),
        { headers: { Accept: "text/event-stream" } },
      );
      if (stream.status !== 200)
        assert.fail(`the legacy subscriber was answered ${stream.status}: ${await stream.body}`);

      const post = (fields: Record<string, string>, headers: Record<string, string>) =>
        fetch(hub.hubUrl, {
          method: "POST",
          headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
          body: new URLSearchParams(fields).toString(),
        });
      const sent: string[] = [];
      for (const [i, priv] of [true, false, true].entries()) {
        const data = marker(`data${i}`);
        secrets.set(`update data ${i}`, data);
        const answer = await post(
          { topic: TOPIC, data, ...(priv ? { private: "on" } : {}) },
          { Authorization: `Bearer ${publisher}` },
        );
        assert.equal(answer.status, 200);
        sent.push(data);
      }
      const cookieData = marker("cookiedata");
      secrets.set("update data sent with a cookie", cookieData);
      const byCookie = await post(
        { topic: TOPIC, data: cookieData, private: "on" },
        { Cookie: `${COOKIE}=${cookiePublisher}`, Origin: APP_ORIGIN },
      );
      assert.equal(byCookie.status, 200);
      sent.push(cookieData);
      const events = await stream.waitForEvents(sent.length);
      assert.deepEqual(
        events.map((event) => event.data),
        sent,
        "the private updates went through the hub",
      );

      // Refusals: forged and garbage tokens in every place a token may be.
      const refusedData = marker("refuseddata");
      secrets.set("the data of a refused publish", refusedData);
      const refusals: Record<string, string>[] = [
        { Authorization: `Bearer ${forged}` },
        { Authorization: `Bearer ${garbage}` },
        { Cookie: `${COOKIE}=${garbage}`, Origin: APP_ORIGIN },
      ];
      for (const headers of refusals) {
        const answer = await post({ topic: TOPIC, data: refusedData, private: "on" }, headers);
        // 401 for a forged token, 400 for one that is not even shaped as a JWT.
        assert.ok(answer.status === 401 || answer.status === 400, `answered ${answer.status}`);
      }
      for (const bad of [forgedSubscriber, garbage]) {
        const refused = await openStream(
          subscribeUrl(hub.hubUrl, [
            ["topic", TOPIC],
            ["authorization", bad],
          ]),
          { headers: { Accept: "text/event-stream" } },
        );
        assert.ok(refused.status === 401 || refused.status === 400, `answered ${refused.status}`);
        await refused.body;
      }
      stream.close();
    } finally {
      await hub.stop();
      output = hub.output();
      await redis.stop();
    }
  });

  it("logged what happened: publishes, streams and refusals", () => {
    const lines = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const count = (msg: string) => lines.filter((line) => line.msg === msg).length;
    assert.equal(count("update published"), 4);
    assert.equal(count("stream opened"), 1);
    assert.equal(count("stream closed"), 1);
    assert.equal(count("request refused"), 5);
    assert.ok(count("access token refused") >= 2, "the forged tokens were refused");
  });

  it("holds none of the tokens, the key, the password nor the data", () => {
    assert.equal(secrets.size, 13);
    for (const [what, secret] of secrets) {
      assert.ok(!output.includes(secret), `${what} was logged`);
      // A token cut short is a token still: its signature alone must not show either.
      const signature = secret.split(".")[2];
      if (signature !== undefined)
        assert.ok(!output.includes(signature), `the signature of ${what} was logged`);
    }
  });
});
