import assert from "node:assert/strict";
import { createServer } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { describe, it } from "node:test";
import { mintToken } from "../src/auth/mint.ts";
import { resolveServeConfig } from "../src/cli/resolve-config.ts";
import { OriginAllowlist } from "../src/http/cors.ts";
import { DEFAULT_LIMITS, type HttpLimits } from "../src/http/options.ts";
import { createContext, createRequestHandler } from "../src/http/router.ts";
import { Hub } from "../src/hub/hub.ts";
import { MemoryTransport } from "../src/transports/memory.ts";
import { accessClaims, detail, hs256Jwt } from "./helpers/auth.ts";
import { watchSubscribeResponses } from "./helpers/server-streams.ts";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { ISSUER, SECRET, startTestHub, type TestHub, testVerifier } from "./helpers/test-hub.ts";

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly code: string | undefined;
}

/** Opens a stream; one that is refused is read to its end and given back as the refusal. */
async function subscribe(hubUrl: string, headers: Record<string, string> = {}): Promise<Stream | Answer> {
  const stream = await openStream(subscribeUrl(hubUrl, [["match", "*"]]), { headers });
  if (stream.status === 200) return stream;
  const body = JSON.parse(await stream.body) as { code?: string };
  return {
    status: stream.status,
    retryAfter: stream.headers["retry-after"] as string | undefined,
    code: body.code,
  };
}

async function admitted(hubUrl: string, headers: Record<string, string> = {}): Promise<Stream> {
  const answer = await subscribe(hubUrl, headers);
  assert.ok("close" in answer, `refused: ${JSON.stringify(answer)}`);
  return answer;
}

async function refused(hubUrl: string, headers: Record<string, string> = {}): Promise<Answer> {
  const answer = await subscribe(hubUrl, headers);
  if ("close" in answer) {
    answer.close();
    assert.fail("the stream was admitted");
  }
  assert.equal(answer.status, 429);
  assert.equal(answer.code, "too_many_connections");
  assert.match(answer.retryAfter ?? "", /^[1-9]\d*$/);
  return answer;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function withHub(flags: Record<string, string | boolean>, body: (hub: TestHub) => Promise<void>) {
  const hub = await startTestHub({ anonymous: true, ...flags });
  try {
    await body(hub);
  } finally {
    await hub.close();
  }
}

describe("max-connections-per-subject", () => {
  const subscriber = (hub: TestHub, subject: string) =>
    mintToken({ issuer: ISSUER, audience: hub.resourceIdentifier, key: SECRET, subscribe: ["*"], subject });

  it("refuses a subject's streams past the limit, whatever the token, until one closes", async () => {
    await withHub({ "max-connections-per-subject": "2" }, async (hub) => {
      const watcher = watchSubscribeResponses(hub.server);
      // Three tokens of one subject, as three devices of one user would hold.
      const first = await admitted(hub.hubUrl, bearer(await subscriber(hub, "alice")));
      const second = await admitted(hub.hubUrl, bearer(await subscriber(hub, "alice")));
      const alice = bearer(await subscriber(hub, "alice"));
      await refused(hub.hubUrl, alice);
      // Another subject, and anonymous subscribers, are not counted under alice.
      const bob = await admitted(hub.hubUrl, bearer(await subscriber(hub, "bob")));
      const anonymous = [await admitted(hub.hubUrl), await admitted(hub.hubUrl), await admitted(hub.hubUrl)];
      first.close();
      await watcher.waitForClosed(1);
      const third = await admitted(hub.hubUrl, alice);
      await refused(hub.hubUrl, alice);
      for (const stream of [second, third, bob, ...anonymous]) stream.close();
      watcher.stop();
    });
  });

  it("counts a token without sub as its own subject", async () => {
    await withHub({ "max-connections-per-subject": "2" }, async (hub) => {
      const withoutSub = () =>
        hs256Jwt(
          { typ: "at+jwt" },
          accessClaims(ISSUER, hub.resourceIdentifier, [detail(["subscribe"], [{ match: "*" }])], {
            sub: undefined,
          }),
          SECRET,
        );
      const token = bearer(withoutSub());
      const streams = [await admitted(hub.hubUrl, token), await admitted(hub.hubUrl, token)];
      await refused(hub.hubUrl, token);
      // Another token without sub is another holder.
      streams.push(await admitted(hub.hubUrl, bearer(withoutSub())));
      for (const stream of streams) stream.close();
    });
  });
});

describe("publish-rate", () => {
  /** A hub built from the library's parts with a clock the test moves. */
  async function withClockedHub(
    limits: Partial<HttpLimits>,
    body: (hub: {
      hubUrl: string;
      token(subject?: string): Promise<string>;
      clock: { now: number };
    }) => Promise<void>,
  ) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const hubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/mercure`;
    const verifier = await testVerifier(hubUrl);
    const hub = new Hub(new MemoryTransport({ historySize: 100 }), {
      heartbeatMs: 30_000,
      writeTimeoutMs: 10_000,
      maxLifetimeMs: 3_600_000,
      maxQueueBytes: 4 * 1024 * 1024,
    });
    const clock = { now: Date.now() };
    const context = createContext(
      hub,
      verifier,
      {
        hubUrl,
        resourceIdentifier: hubUrl,
        anonymous: false,
        corsOrigins: new OriginAllowlist([]),
        publishOrigins: new OriginAllowlist([]),
        cookieName: "mercureAuthorization",
        legacy: false,
        authorizationServers: [],
        limits: { ...DEFAULT_LIMITS, ...limits },
      },
      { now: () => clock.now },
    );
    server.on("request", createRequestHandler(context));
    const token = (subject?: string) =>
      mintToken({
        issuer: ISSUER,
        audience: hubUrl,
        key: SECRET,
        publish: ["*"],
        ...(subject === undefined ? {} : { subject }),
      });
    try {
      await body({ hubUrl, token, clock });
    } finally {
      await hub.close();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  async function post(hubUrl: string, token: string, topic = "https://example.com/a") {
    const response = await fetch(hubUrl, {
      method: "POST",
      headers: { ...bearer(token), "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ topic, data: "x" }).toString(),
    });
    const text = await response.text();
    return {
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      code: response.status === 200 ? undefined : (JSON.parse(text) as { code: string }).code,
    };
  }

  it("refuses a publisher past its burst with 429 and Retry-After, and takes it again once a token refilled", async () => {
    await withClockedHub({ publishRate: 2, publishBurst: 3 }, async ({ hubUrl, token, clock }) => {
      const alice = await token("alice");
      for (let i = 0; i < 3; i++) assert.equal((await post(hubUrl, alice)).status, 200);
      const refusal = await post(hubUrl, alice);
      assert.equal(refusal.status, 429);
      assert.equal(refusal.code, "publish_rate_exceeded");
      assert.equal(refusal.retryAfter, "1");
      // The same subject in another token is the same publisher; another subject is not.
      assert.equal((await post(hubUrl, await token("alice"))).status, 429);
      assert.equal((await post(hubUrl, await token("bob"))).status, 200);
      // At two a second, one update is taken again half a second later, and only one.
      clock.now += 500;
      assert.equal((await post(hubUrl, alice)).status, 200);
      assert.equal((await post(hubUrl, alice)).status, 429);
    });
  });

  it("takes twice the rate at once by default, and counts no refused update", async () => {
    await withClockedHub({ publishRate: 1 }, async ({ hubUrl, token }) => {
      const alice = await token("alice");
      // Refused for its topic: not counted.
      assert.equal((await post(hubUrl, alice, "/.well-known/mercure/subscriptions/x")).status, 400);
      assert.equal((await post(hubUrl, alice)).status, 200);
      assert.equal((await post(hubUrl, alice)).status, 200);
      assert.equal((await post(hubUrl, alice)).code, "publish_rate_exceeded");
    });
  });

  it("is off by default, and read from the command line", () => {
    const config = (flags: Record<string, string>) =>
      resolveServeConfig({ issuer: ISSUER, "publisher-key": SECRET, ...flags }, {});
    assert.equal(config({}).limits.publishRate, 0);
    assert.equal(config({}).limits.maxConnectionsPerSubject, 256);
    const limits = config({ "publish-rate": "5", "publish-burst": "7" }).limits;
    assert.equal(limits.publishRate, 5);
    assert.equal(limits.publishBurst, 7);
    assert.throws(
      () => config({ "publish-burst": "0" }),
      /--publish-burst takes a whole number of at least 1/,
    );
    assert.throws(
      () => config({ "publish-burst": "10" }),
      /--publish-burst applies to a publish rate: set --publish-rate too/,
    );
  });
});

/** Whether this machine can listen on ::1 (a container may have no IPv6 at all). */
const ipv6Loopback = await new Promise<boolean>((resolve) => {
  const probe = createNetServer();
  probe.once("error", () => resolve(false));
  probe.listen(0, "::1", () => probe.close(() => resolve(true)));
});

describe("trusted-proxies", () => {
  it("takes the client address from X-Forwarded-For only when the peer is a trusted proxy", async () => {
    await withHub(
      { "trusted-proxies": "10.0.0.0/8,127.0.0.1", "max-connections-per-client": "1" },
      async (hub) => {
        const one = await admitted(hub.hubUrl, { "X-Forwarded-For": "198.51.100.1" });
        // Another client behind the proxy has a slot of its own; the same one has none left.
        const two = await admitted(hub.hubUrl, { "X-Forwarded-For": "198.51.100.2" });
        await refused(hub.hubUrl, { "X-Forwarded-For": "198.51.100.1" });
        // What the client wrote left of the proxy's entry is not believed.
        await refused(hub.hubUrl, { "X-Forwarded-For": "203.0.113.9, 198.51.100.1" });
        // Forwarded wins, quoted IPv6 with a port included.
        const three = await admitted(hub.hubUrl, {
          Forwarded: 'for="[2001:db8::1]:4711"',
          "X-Forwarded-For": "198.51.100.1",
        });
        await refused(hub.hubUrl, { Forwarded: 'for="[2001:db8::1]"' });
        // A malformed header is the proxy's own address: counted once, then refused.
        const four = await admitted(hub.hubUrl, { Forwarded: "for=[2001:db8::2]" });
        await refused(hub.hubUrl, { "X-Forwarded-For": "not an address" });
        for (const stream of [one, two, three, four]) stream.close();
      },
    );
  });

  it("ignores a spoofed X-Forwarded-For from a peer that is not trusted", async () => {
    await withHub({ "trusted-proxies": "10.0.0.0/8", "max-connections-per-client": "1" }, async (hub) => {
      const one = await admitted(hub.hubUrl, { "X-Forwarded-For": "198.51.100.1" });
      await refused(hub.hubUrl, { "X-Forwarded-For": "198.51.100.2" });
      await refused(hub.hubUrl, { Forwarded: "for=198.51.100.3" });
      one.close();
    });
  });

  it("trusts an IPv6 proxy", { skip: ipv6Loopback ? false : "no IPv6 loopback here" }, async () => {
    await withHub(
      { listen: "[::1]:0", "trusted-proxies": "::1/128", "max-connections-per-client": "1" },
      async (hub) => {
        const one = await admitted(hub.hubUrl, { "X-Forwarded-For": "2001:db8::7" });
        const two = await admitted(hub.hubUrl, { "X-Forwarded-For": "2001:db8::8" });
        await refused(hub.hubUrl, { Forwarded: 'for="[2001:db8::7]:1"' });
        one.close();
        two.close();
      },
    );
  });

  it("refuses an entry that is not an address or range at startup", () => {
    assert.throws(
      () =>
        resolveServeConfig(
          { issuer: ISSUER, "publisher-key": SECRET, "trusted-proxies": "proxy.internal" },
          {},
        ),
      /--trusted-proxies: "proxy.internal" is not an IP address or CIDR range/,
    );
  });
});
