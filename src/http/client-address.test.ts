import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clientAddress, TrustedProxies } from "./client-address.ts";

const proxies = new TrustedProxies(["10.0.0.0/8", "192.0.2.7", "2001:db8:1::/48", "::1"]);

describe("TrustedProxies", () => {
  it("matches addresses and CIDR ranges of both families, IPv4-mapped peers included", () => {
    assert.equal(proxies.trusts("10.20.30.40"), true);
    assert.equal(proxies.trusts("::ffff:10.1.1.1"), true);
    assert.equal(proxies.trusts("192.0.2.7"), true);
    assert.equal(proxies.trusts("192.0.2.8"), false);
    assert.equal(proxies.trusts("2001:db8:1:ffff::9"), true);
    assert.equal(proxies.trusts("2001:db8:2::9"), false);
    assert.equal(proxies.trusts("::1"), true);
    assert.equal(proxies.trusts("not an address"), false);
    assert.equal(proxies.trusts(""), false);
  });

  it("refuses an entry that is neither an address nor a range", () => {
    assert.throws(() => new TrustedProxies(["proxy.internal"]), /"proxy.internal" is not an IP address/);
    assert.throws(() => new TrustedProxies(["10.0.0.0/33"]), /prefix length must be 0 to 32/);
    assert.throws(() => new TrustedProxies(["2001:db8::/129"]), /0 to 128/);
    assert.throws(() => new TrustedProxies(["10.0.0.0/x"]), /prefix length/);
    assert.throws(() => new TrustedProxies(["/8"]), /not an IP address/);
  });
});

describe("clientAddress", () => {
  const none = new TrustedProxies([]);

  it("is the peer when no proxy is trusted, or the peer is not one", () => {
    assert.equal(clientAddress("203.0.113.5", { "x-forwarded-for": "198.51.100.1" }, none), "203.0.113.5");
    assert.equal(clientAddress("203.0.113.5", { "x-forwarded-for": "198.51.100.1" }, proxies), "203.0.113.5");
    assert.equal(clientAddress("203.0.113.5", { forwarded: "for=198.51.100.1" }, proxies), "203.0.113.5");
  });

  it("walks X-Forwarded-For from the right, over trusted proxies, to the first untrusted address", () => {
    assert.equal(clientAddress("10.0.0.1", { "x-forwarded-for": "198.51.100.1" }, proxies), "198.51.100.1");
    // The leftmost entry was written by the client: only the first untrusted hop is believed.
    assert.equal(
      clientAddress("10.0.0.1", { "x-forwarded-for": "1.1.1.1, 198.51.100.1, 10.9.9.9" }, proxies),
      "198.51.100.1",
    );
    assert.equal(
      clientAddress("10.0.0.1", { "x-forwarded-for": ["1.1.1.1", "198.51.100.1"] }, proxies),
      "198.51.100.1",
    );
    assert.equal(clientAddress("10.0.0.1", { "x-forwarded-for": "2001:db8:9::1" }, proxies), "2001:db8:9::1");
    assert.equal(
      clientAddress("10.0.0.1", { "x-forwarded-for": "198.51.100.1:4711" }, proxies),
      "198.51.100.1",
    );
    assert.equal(
      clientAddress("10.0.0.1", { "x-forwarded-for": "[2001:db8:9::1]:80" }, proxies),
      "2001:db8:9::1",
    );
    // Every hop trusted: the leftmost.
    assert.equal(clientAddress("10.0.0.1", { "x-forwarded-for": "10.0.0.3, 10.0.0.2" }, proxies), "10.0.0.3");
    assert.equal(
      clientAddress("::ffff:10.0.0.1", { "x-forwarded-for": "198.51.100.1" }, proxies),
      "198.51.100.1",
    );
  });

  it("reads Forwarded for= before X-Forwarded-For, with quoted IPv6 and ports", () => {
    const headers = {
      forwarded: 'for=198.51.100.1;proto=https, for="[2001:db8:9::1]:4711";by=10.0.0.2, for=10.0.0.9',
      "x-forwarded-for": "203.0.113.99",
    };
    assert.equal(clientAddress("10.0.0.1", headers, proxies), "2001:db8:9::1");
    assert.equal(clientAddress("10.0.0.1", { forwarded: 'For="198.51.100.1:80"' }, proxies), "198.51.100.1");
    assert.equal(clientAddress("::1", { forwarded: 'for="[2001:db8:9::2]"' }, proxies), "2001:db8:9::2");
  });

  it("ends the walk at the proxy whose client is hidden", () => {
    assert.equal(
      clientAddress("10.0.0.1", { forwarded: "for=198.51.100.1, for=_hidden" }, proxies),
      "10.0.0.1",
    );
    assert.equal(
      clientAddress("10.0.0.1", { forwarded: "for=198.51.100.1, for=unknown, for=10.0.0.4" }, proxies),
      "10.0.0.4",
    );
    assert.equal(
      clientAddress("10.0.0.1", { forwarded: "for=198.51.100.1, proto=https" }, proxies),
      "10.0.0.1",
    );
    assert.equal(
      clientAddress("10.0.0.1", { "x-forwarded-for": "198.51.100.1, unknown" }, proxies),
      "10.0.0.1",
    );
  });

  it("gives the peer for a malformed header, and never throws", () => {
    const malformed = [
      { forwarded: "for=" },
      { forwarded: 'for="198.51.100.1' },
      { forwarded: "for=[2001:db8::1]" },
      { forwarded: "for=198.51.100.1,,for=198.51.100.2" },
      { forwarded: 'for="[2001:db8::1"' },
      { forwarded: 'for="[not-v6]:80"' },
      { forwarded: 'for="198.51.100.1:http"' },
      { forwarded: "for=198.51.100.1 x" },
      { forwarded: "garbage" },
      { "x-forwarded-for": "198.51.100.1, hello" },
      { "x-forwarded-for": "" },
      { "x-forwarded-for": "999.1.1.1" },
      { "x-forwarded-for": "198.51.100.1," },
    ];
    for (const headers of malformed) {
      assert.equal(clientAddress("10.0.0.1", headers, proxies), "10.0.0.1", JSON.stringify(headers));
    }
  });

  it("believes a malformed entry only as far as the walk reaches it", () => {
    assert.equal(
      clientAddress("10.0.0.1", { "x-forwarded-for": "hello, 198.51.100.1" }, proxies),
      "198.51.100.1",
    );
  });
});
