import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openStream, type Stream, subscribeUrl } from "./helpers/sse-client.ts";
import { publish, startTestHub, type TestHub } from "./helpers/test-hub.ts";

describe("publish", () => {
  let hub: TestHub;
  let token: string;
  let watcher: Stream;

  before(async () => {
    hub = await startTestHub({ "max-topics": "3", "max-body-bytes": "4096", "max-field-bytes": "256" });
    token = await hub.token({ publish: ["*"], subscribe: ["*"] });
    // Sees everything dispatched, private included: what reaches it proves what was dispatched.
    watcher = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { Authorization: `Bearer ${await hub.token({ subscribe: ["*"] })}` },
    });
  });
  after(async () => {
    watcher.close();
    await hub.close();
  });

  /** Publishes a valid marker and checks it is the next event: nothing refused slipped in before it. */
  async function assertNothingDispatchedSince(count: number): Promise<void> {
    const marker = await publish(hub, { topic: "https://example.com/marker", data: "marker" }, { token });
    assert.equal(marker.status, 200);
    const events = await watcher.waitForEvents(count + 1);
    assert.equal(
      events[count]!.id,
      marker.body,
      "the marker is the next event: the refused update was not dispatched",
    );
    assert.equal(watcher.events.length, count + 1);
  }

  it("answers 200 with the generated id as text/plain", async () => {
    const before = watcher.events.length;
    const result = await publish(hub, { topic: "https://example.com/books/1", data: "hello" }, { token });
    assert.equal(result.status, 200);
    assert.equal(result.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.match(result.body, /^urn:uuid:[0-9a-f-]{36}$/);
    const [, event] = [before, (await watcher.waitForEvents(before + 1))[before]!];
    assert.equal(event.id, result.body);
    assert.equal(event.data, "hello");
  });

  it("keeps the id, type and retry the publisher gave", async () => {
    const before = watcher.events.length;
    const result = await publish(
      hub,
      {
        topic: "https://example.com/books/2",
        data: "x",
        id: "book-2-rev-7",
        type: "book.updated",
        retry: "2500",
      },
      { token },
    );
    assert.equal(result.body, "book-2-rev-7");
    const event = (await watcher.waitForEvents(before + 1))[before]!;
    assert.deepEqual(
      { id: event.id, type: event.type, retry: event.retry, data: event.data },
      { id: "book-2-rev-7", type: "book.updated", retry: 2500, data: "x" },
    );
  });

  it("acknowledges a retried publish (same id and fields) without dispatching it twice", async () => {
    const before = watcher.events.length;
    const update = { topic: "https://example.com/books/3", data: "once", id: "book-3-rev-1", type: "t" };
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await publish(hub, update, { token });
      assert.deepEqual({ status: result.status, body: result.body }, { status: 200, body: "book-3-rev-1" });
    }
    // The same id with other data is another update, dispatched like any other.
    const changed = await publish(hub, { ...update, data: "changed" }, { token });
    assert.equal(changed.status, 200);
    const events = await watcher.waitForEvents(before + 2);
    assert.deepEqual(
      events.slice(before).map((event) => event.data),
      ["once", "changed"],
    );
    await assertNothingDispatchedSince(before + 2);
  });

  it("sends every line of data as its own data: field", async () => {
    const before = watcher.events.length;
    await publish(
      hub,
      { topic: "https://example.com/lines", data: "one\ntwo\r\nthree\rfour\nid: forged" },
      { token },
    );
    const event = (await watcher.waitForEvents(before + 1))[before]!;
    assert.equal(event.data, "one\ntwo\nthree\nfour\nid: forged");
    assert.notEqual(event.id, "forged");
  });

  const refusals: [string, [string, string][], number, string][] = [
    ["no topic", [["data", "x"]], 400, "topic_missing"],
    ["an empty topic", [["topic", ""]], 400, "topic_missing"],
    ["the wildcard as a topic", [["topic", "*"]], 400, "topic_wildcard"],
    ["a topic with LF", [["topic", "https://example.com/a\nb"]], 400, "topic_invalid"],
    ["a topic with a C1 control", [["topic", "https://example.com/a\u0085b"]], 400, "topic_invalid"],
    ["a topic with DEL", [["topic", "https://example.com/a\u007fb"]], 400, "topic_invalid"],
    [
      "a topic with a zero-width space (Cf)",
      [["topic", "https://example.com/a\u200bb"]],
      400,
      "topic_invalid",
    ],
    ["a topic with a bidi override (Cf)", [["topic", "https://example.com/\u202eb"]], 400, "topic_invalid"],
    ["the hub path as a relative topic", [["topic", "/.well-known/mercure"]], 400, "topic_reserved"],
    [
      "a subscription event topic",
      [["topic", "/.well-known/mercure/subscriptions/exact/x/y"]],
      400,
      "topic_reserved",
    ],
    [
      "an absolute reserved topic on another host",
      [["topic", "https://elsewhere.example/.well-known/mercure/subscriptions"]],
      400,
      "topic_reserved",
    ],
    ["a percent-encoded reserved topic", [["topic", "/.well-known/%6Dercure/x"]], 400, "topic_reserved"],
    ["a dot-segment reserved topic", [["topic", "/.well-known/other/../mercure/x"]], 400, "topic_reserved"],
    [
      "an encoded dot-segment reserved topic",
      [["topic", "/.well-known/x/%2e%2e/mercure"]],
      400,
      "topic_reserved",
    ],
    [
      "a reserved alternate topic",
      [
        ["topic", "https://example.com/ok"],
        ["topic", "/.well-known/mercure/x"],
      ],
      400,
      "topic_reserved",
    ],
    [
      "an id starting with #",
      [
        ["topic", "a"],
        ["id", "#1"],
      ],
      400,
      "id_invalid",
    ],
    [
      "the id earliest",
      [
        ["topic", "a"],
        ["id", "earliest"],
      ],
      400,
      "id_invalid",
    ],
    [
      "an id with CR",
      [
        ["topic", "a"],
        ["id", "a\rb"],
      ],
      400,
      "id_invalid",
    ],
    [
      "an id with a Cf character",
      [
        ["topic", "a"],
        ["id", "a\u2066"],
      ],
      400,
      "id_invalid",
    ],
    [
      "the type mercure",
      [
        ["topic", "a"],
        ["type", "mercure"],
      ],
      400,
      "type_invalid",
    ],
    [
      "a type with LF",
      [
        ["topic", "a"],
        ["type", "a\nb"],
      ],
      400,
      "type_invalid",
    ],
    [
      "a retry that is not digits",
      [
        ["topic", "a"],
        ["retry", "10s"],
      ],
      400,
      "retry_invalid",
    ],
    [
      "a negative retry",
      [
        ["topic", "a"],
        ["retry", "-1"],
      ],
      400,
      "retry_invalid",
    ],
    [
      "too many topics",
      [
        ["topic", "a"],
        ["topic", "b"],
        ["topic", "c"],
        ["topic", "d"],
      ],
      413,
      "too_many_topics",
    ],
    ["a field over the field limit", [["topic", "a".repeat(257)]], 413, "form_field_too_long"],
    [
      "a body over the body limit",
      [
        ["topic", "a"],
        ["data", "x".repeat(5000)],
      ],
      413,
      "body_too_large",
    ],
  ];
  for (const [what, fields, status, code] of refusals) {
    it(`refuses ${what} with ${status} ${code}, dispatching nothing`, async () => {
      const before = watcher.events.length;
      const result = await publish(hub, fields, { token });
      assert.equal(result.status, status, result.body);
      assert.equal(result.headers.get("content-type"), "application/problem+json");
      const problem = JSON.parse(result.body);
      assert.equal(problem.code, code);
      assert.equal(problem.status, status);
      await assertNothingDispatchedSince(before);
    });
  }

  it("refuses a reserved topic with 400 even without a token", async () => {
    const result = await publish(hub, { topic: "/.well-known/mercure/subscriptions" });
    assert.equal(result.status, 400);
    assert.equal(JSON.parse(result.body).code, "topic_reserved");
  });

  it("accepts look-alikes of the reserved namespace", async () => {
    for (const topic of [
      "/.well-known/mercure-dashboard",
      "/.well-known/mercurex/a",
      "/.well-known/Mercure/a",
      "/.well-known%2Fmercure/a",
      "urn:x:/.well-known/mercure",
    ]) {
      const result = await publish(hub, { topic }, { token });
      assert.equal(result.status, 200, `${topic}: ${result.body}`);
    }
  });

  it("refuses a body that is not a form with 415", async () => {
    const response = await fetch(hub.hubUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ topic: "a" }),
    });
    assert.equal(response.status, 415);
    assert.equal(((await response.json()) as { code: string }).code, "unsupported_media_type");
  });

  it("refuses a form that is not UTF-8 with 400", async () => {
    const response = await fetch(hub.hubUrl, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: `Bearer ${token}` },
      body: "topic=a&data=%FF%FE",
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { code: string }).code, "form_invalid_utf8");
  });

  it("marks an update private by the presence of the field, even empty", async () => {
    const anonymous = await startTestHub({ anonymous: true });
    try {
      const publisherToken = await anonymous.token({ publish: ["*"] });
      const stream = await openStream(subscribeUrl(anonymous.hubUrl, [["match", "*"]]));
      await publish(
        anonymous,
        [
          ["topic", "https://example.com/p"],
          ["private", ""],
          ["data", "secret"],
        ],
        {
          token: publisherToken,
        },
      );
      await publish(
        anonymous,
        [
          ["topic", "https://example.com/p"],
          ["data", "public"],
        ],
        { token: publisherToken },
      );
      const [event] = await stream.waitForEvents(1);
      assert.equal(
        event!.data,
        "public",
        "the anonymous subscriber got the public update, not the private one",
      );
      stream.close();
    } finally {
      await anonymous.close();
    }
  });

  it("dispatches an update to the subscribers of any of its topics, once each", async () => {
    const a = await openStream(subscribeUrl(hub.hubUrl, [["match", "https://example.com/alt/a"]]), {
      headers: { Authorization: `Bearer ${token}` },
    });
    const both = await openStream(
      subscribeUrl(hub.hubUrl, [
        ["match", "https://example.com/alt/a"],
        ["match", "https://example.com/alt/b"],
        ["match_urlpattern", "https://example.com/alt/*"],
      ]),
      { headers: { Authorization: `Bearer ${token}` } },
    );
    const result = await publish(
      hub,
      [
        ["topic", "https://example.com/alt/a"],
        ["topic", "https://example.com/alt/b"],
        ["data", "one"],
      ],
      { token },
    );
    await publish(hub, { topic: "https://example.com/alt/b", data: "two" }, { token });
    assert.deepEqual(
      (await a.waitForEvents(1)).map((e) => e.id),
      [result.body],
    );
    assert.deepEqual(
      (await both.waitForEvents(2)).map((e) => e.data),
      ["one", "two"],
      "three matching matchers, one delivery",
    );
    a.close();
    both.close();
  });
});

describe("publish: an update every subscriber can take", () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({ anonymous: true, "max-body-bytes": "32768", "max-queue-bytes": "65536" });
  });
  after(async () => {
    await hub.close();
  });

  /**
   * Each line of data costs its `data: ` prefix in the event, so a body of line breaks makes an
   * event seven times its size. One larger than a subscriber's queue bound is more than any
   * subscriber may have waiting: it cut every stream it reached, and again each reconnection that
   * replayed it, for as long as history kept it.
   */
  it("refuses with 413 update_too_large an update whose event is larger than max-queue-bytes", async () => {
    const token = await hub.token({ publish: ["https://example.com/mine"] });
    const everything = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]));
    await everything.waitForComments(1);
    const lineBreaks = "\n".repeat(10_000); // 10 KB of body, 70 KB of event
    const response = await fetch(hub.hubUrl, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
      body: `topic=https://example.com/mine&data=${lineBreaks}`,
    });
    const body = await response.text();
    assert.equal(response.status, 413, body);
    assert.equal(JSON.parse(body).code, "update_too_large");
    // The stream is still there, and the refused update is not in history.
    const marker = await publish(hub, { topic: "https://example.com/mine", data: "after" }, { token });
    assert.equal(marker.status, 200);
    assert.deepEqual(
      (await everything.waitForEvents(1)).map((event) => event.data),
      ["after"],
    );
    const replay = await openStream(subscribeUrl(hub.hubUrl, [["match", "*"]]), {
      headers: { "Last-Event-ID": "earliest" },
    });
    assert.deepEqual(
      (await replay.waitForEvents(1)).map((event) => event.id),
      [marker.body],
    );
    replay.close();
    everything.close();
  });
});
