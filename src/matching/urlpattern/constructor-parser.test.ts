import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { canonicalize } from "./canonicalize.ts";
import { type ComponentStrings, parseConstructorString } from "./constructor-parser.ts";
import { processPatternInit } from "./pattern-init.ts";

const BASE_URL = "https://hub.example/.well-known/mercure";

/** Enough of "protocol component matches a special scheme" for these tests. */
const special = (protocol: string) =>
  ["http", "https", "ws", "wss", "ftp", "file", "*", "http{s}?"].includes(protocol);

function split(input: string): ComponentStrings {
  return parseConstructorString(input, special);
}

describe("parse a constructor string", () => {
  test("splits absolute patterns", () => {
    // ":pass" would be a named group and "?" after ":id" its modifier: delimiters that follow a
    // name are escaped.
    assert.deepEqual(split("https://user\\:pass@*.example.com:8080/books/:id\\?lang=fr#top"), {
      protocol: "https",
      username: "user",
      password: "pass",
      hostname: "*.example.com",
      port: "8080",
      pathname: "/books/:id",
      search: "lang=fr",
      hash: "top",
    });
    assert.deepEqual(split("https://example.com"), { protocol: "https", hostname: "example.com", port: "" });
    // Components skipped before a later one are empty, not wildcards.
    assert.deepEqual(split("https://example.com#x"), {
      protocol: "https",
      hostname: "example.com",
      port: "",
      pathname: "/",
      search: "",
      hash: "x",
    });
    assert.deepEqual(split("http://[\\:\\:1]:8080/*"), {
      protocol: "http",
      hostname: "[\\:\\:1]",
      port: "8080",
      pathname: "/*",
    });
  });

  test("a '?' after a group is its modifier, not the search delimiter", () => {
    assert.deepEqual(split("https://example.com/:id?x"), {
      protocol: "https",
      hostname: "example.com",
      port: "",
      pathname: "/:id?x",
    });
    assert.deepEqual(split("https://example.com/:id\\?x").search, "x");
    assert.deepEqual(split("https://example.com/{/page/:page}?/list").pathname, "/{/page/:page}?/list");
  });

  test("non-special schemes without authority slashes have a pathname right away", () => {
    const opaque = { hostname: "", port: "" };
    assert.deepEqual(split("mailto:*"), { protocol: "mailto", pathname: "*", ...opaque });
    assert.deepEqual(split("urn\\:isbn\\:*"), { protocol: "urn", pathname: "isbn\\:*", ...opaque });
    // ":bar" is a named group, so there is no protocol: a relative pathname.
    assert.deepEqual(split("foo:bar"), { pathname: "foo:bar" });
    assert.deepEqual(split("foo://host/:a"), {
      protocol: "foo",
      hostname: "host",
      port: "",
      pathname: "/:a",
    });
  });

  test("relative patterns", () => {
    assert.deepEqual(split("/books/:id"), { pathname: "/books/:id" });
    assert.deepEqual(split("?q=:q"), { search: "q=:q" });
    assert.deepEqual(split("#top"), { hash: "top" });
  });
});

describe("process a URLPatternInit for a pattern", () => {
  test("inherits the base URL up to the first component written", () => {
    assert.deepEqual(processPatternInit({ pathname: "/books/:id" }, BASE_URL), {
      protocol: "https",
      username: "*",
      password: "*",
      hostname: "hub.example",
      port: "",
      pathname: "/books/:id",
      search: "*",
      hash: "*",
    });
    assert.deepEqual(processPatternInit({ search: "q" }, "https://h.example:8443/a/b?x#y"), {
      protocol: "https",
      username: "*",
      password: "*",
      hostname: "h.example",
      port: "8443",
      pathname: "/a/b",
      search: "q",
      hash: "*",
    });
  });

  test("resolves relative pathnames against the base URL's directory, escaped", () => {
    assert.equal(processPatternInit({ pathname: "books/:id" }, BASE_URL).pathname, "/.well-known/books/:id");
    assert.equal(processPatternInit({ pathname: "b" }, "https://h.example/a+b/c").pathname, "/a\\+b/b");
    assert.equal(processPatternInit({ pathname: "{/b}?" }, BASE_URL).pathname, "{/b}?");
  });

  test("drops the default port of a special scheme", () => {
    const init = { protocol: "https", hostname: "example.com", port: "443", pathname: "/" };
    assert.equal(processPatternInit(init, BASE_URL).port, "");
    assert.equal(processPatternInit({ ...init, port: "0443" }, BASE_URL).port, "0443");
    assert.equal(processPatternInit({ ...init, protocol: "http" }, BASE_URL).port, "443");
  });
});

describe("canonicalize fixed text", () => {
  test("matches what the URL parser does to topics", () => {
    assert.equal(canonicalize("protocol", "HTTPS"), "https");
    assert.equal(canonicalize("hostname", "EXAMPLE.com"), "example.com");
    assert.equal(canonicalize("hostname", "bücher.example"), "xn--bcher-kva.example");
    assert.equal(canonicalize("ipv6-hostname", "[::ABCD]"), "[::abcd]");
    assert.equal(canonicalize("port", "08080"), "8080");
    assert.equal(canonicalize("pathname", "/a/../b/./c"), "/b/c");
    assert.equal(canonicalize("pathname", "/café"), "/caf%C3%A9");
    assert.equal(canonicalize("opaque-pathname", "a b"), "a b");
    assert.equal(canonicalize("search", "a b&c=é"), "a%20b&c=%C3%A9");
    assert.equal(canonicalize("hash", "#a b"), "#a%20b");
    assert.equal(canonicalize("username", "a@b"), "a%40b");
  });
});
