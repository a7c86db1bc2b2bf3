import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidMatcherError } from "../matching/matcher.ts";
import { MatcherInterner } from "./matcher-interner.ts";

const BASE = "https://hub.example.com/.well-known/mercure";
const LIMITS = { maxPatternLength: 100 };

describe("MatcherInterner", () => {
  it("hands out one matcher per type, base URL and pattern", () => {
    const interner = new MatcherInterner();
    const pattern = "https://example.com/books/:id";
    const matcher = interner.compile("urlpattern", pattern, BASE, LIMITS);
    assert.equal(interner.compile("urlpattern", pattern, BASE, LIMITS), matcher);
    assert.notEqual(interner.compile("exact", pattern, BASE, LIMITS), matcher);
    assert.notEqual(interner.compile("urlpattern", pattern, "https://other.example/", LIMITS), matcher);
    assert.ok(matcher.matches("https://example.com/books/1"));
  });

  it("resolves relative patterns against the base URL it is given", () => {
    const interner = new MatcherInterner();
    const here = interner.compile("urlpattern", "/books/:id", BASE, LIMITS);
    const there = interner.compile("urlpattern", "/books/:id", "https://other.example/", LIMITS);
    assert.ok(here.matches("https://hub.example.com/books/1"));
    assert.ok(!there.matches("https://hub.example.com/books/1"));
  });

  it("applies each caller's length limit, even to a pattern it already holds", () => {
    const interner = new MatcherInterner();
    const pattern = `https://example.com/${"a".repeat(50)}`;
    interner.compile("exact", pattern, BASE, LIMITS);
    assert.throws(
      () => interner.compile("exact", pattern, BASE, { maxPatternLength: 20 }),
      (error: unknown) => error instanceof InvalidMatcherError && error.code === "matcher_too_long",
    );
  });

  it("remembers no failure", () => {
    const interner = new MatcherInterner();
    assert.throws(() => interner.compile("urlpattern", "https://example.com/(", BASE, LIMITS));
    assert.equal(interner.size, 0);
  });
});
