import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BoundedCache } from "./bounded-cache.ts";
import { parseTopic, parseTopicCached } from "./topic-components.ts";

const BASE_URL = "https://hub.example/.well-known/mercure";

describe("topic components", () => {
  test("are read from the parsed URL, without delimiters", () => {
    assert.deepEqual(parseTopic("HTTPS://u:p@EXAMPLE.com:8443/a/./b?q=1#top", BASE_URL), [
      "https",
      "u",
      "p",
      "example.com",
      "8443",
      "/a/b",
      "q=1",
      "top",
    ]);
    assert.deepEqual(parseTopic("https://example.com:443/?#", BASE_URL), [
      "https",
      "",
      "",
      "example.com",
      "",
      "/",
      "",
      "",
    ]);
    assert.deepEqual(parseTopic("urn:uuid:1-2", BASE_URL), ["urn", "", "", "", "", "uuid:1-2", "", ""]);
    assert.deepEqual(parseTopic("http://[::1]/", BASE_URL)?.[3], "[::1]");
  });

  test("relative topics resolve against the base URL", () => {
    assert.deepEqual(parseTopic("books/1", BASE_URL)?.[5], "/.well-known/books/1");
    assert.deepEqual(parseTopic("/books/1", BASE_URL)?.[3], "hub.example");
  });

  test("anything else is not a topic", () => {
    assert.equal(parseTopic("https://exa mple.com/", BASE_URL), undefined);
    assert.equal(parseTopic("/x", "not a base"), undefined);
  });

  test("the cache answers like the parser", () => {
    for (const topic of ["/a", "/b", "/a", "https://x.example/", "http://", "/a"]) {
      assert.deepEqual(parseTopicCached(topic, BASE_URL), parseTopic(topic, BASE_URL));
      assert.deepEqual(
        parseTopicCached(topic, "https://other.example/"),
        parseTopic(topic, "https://other.example/"),
      );
    }
  });

  test("bounded caches forget the oldest entry", () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("c", 3);
    assert.equal(cache.size, 2);
    assert.equal(cache.get("a"), undefined);
    assert.equal(cache.get("c"), 3);
  });
});
