import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";
import { startTestHub, type TestHub } from "../../test/helpers/test-hub.ts";
import { MercureUnauthorizedError } from "./errors.ts";
import { discover, discoverFrom, MAX_LINK_HEADER_LENGTH, parseLinkHeader } from "./index.ts";

/** A response-like whose `Link` headers are exactly `values`, one header line each. */
function withLinks(values: string[], url?: string): { headers: Headers; url?: string } {
  const headers = new Headers();
  for (const value of values) headers.append("Link", value);
  return url === undefined ? { headers } : { headers, url };
}

describe("discover", () => {
  const cases: [string, string[], ReturnType<typeof discover>][] = [
    [
      "a quoted rel",
      ['<https://hub.example/.well-known/mercure>; rel="mercure"'],
      { hub: "https://hub.example/.well-known/mercure", hubs: ["https://hub.example/.well-known/mercure"] },
    ],
    [
      "an unquoted rel",
      ["<https://hub.example/.well-known/mercure>; rel=mercure"],
      { hub: "https://hub.example/.well-known/mercure", hubs: ["https://hub.example/.well-known/mercure"] },
    ],
    [
      "a rel list and spaces around the parameters",
      ['<https://hub.example/hub> ;  rel = "self mercure"'],
      { hub: "https://hub.example/hub", hubs: ["https://hub.example/hub"], topic: "https://hub.example/hub" },
    ],
    [
      "rel in another case",
      ['<https://hub.example/hub>; REL="Mercure"'],
      { hub: "https://hub.example/hub", hubs: ["https://hub.example/hub"] },
    ],
    [
      "several hubs in one header, the self topic among them",
      [
        '<https://a.example/hub>; rel="mercure", <https://example.com/books/1>; rel="self", <https://b.example/hub>; rel=mercure',
      ],
      {
        hub: "https://a.example/hub",
        hubs: ["https://a.example/hub", "https://b.example/hub"],
        topic: "https://example.com/books/1",
      },
    ],
    [
      "several headers",
      [
        '<https://example.com/books/1>; rel="self"',
        '<https://a.example/hub>; rel="mercure"',
        '<https://b.example/hub>; rel="mercure"',
      ],
      {
        hub: "https://a.example/hub",
        hubs: ["https://a.example/hub", "https://b.example/hub"],
        topic: "https://example.com/books/1",
      },
    ],
    [
      "commas and semicolons inside targets and quoted values",
      [
        '<https://example.com/a,b;c>; rel="self"; title="x, y; rel=mercure", <https://hub.example/hub?x=1,2>; rel="mercure"',
      ],
      {
        hub: "https://hub.example/hub?x=1,2",
        hubs: ["https://hub.example/hub?x=1,2"],
        topic: "https://example.com/a,b;c",
      },
    ],
    [
      "the hub's own parameters (last-event-id, type, content-type)",
      [
        '<https://hub.example/.well-known/mercure>; rel="mercure"; last-event-id="urn:uuid:1"; type="mercure"; content-type="application/json"',
      ],
      { hub: "https://hub.example/.well-known/mercure", hubs: ["https://hub.example/.well-known/mercure"] },
    ],
    [
      "only the first rel of a link",
      ['<https://a.example/hub>; rel="next"; rel="mercure", <https://b.example/hub>; rel="mercure"'],
      { hub: "https://b.example/hub", hubs: ["https://b.example/hub"] },
    ],
    [
      "a hub announced twice, once",
      ['<https://a.example/hub>; rel="mercure", <https://a.example/hub>; rel="mercure"'],
      { hub: "https://a.example/hub", hubs: ["https://a.example/hub"] },
    ],
    [
      "a link about another resource (anchor) ignored",
      ['<https://a.example/hub>; rel="mercure"; anchor="#other", <https://b.example/hub>; rel="mercure"'],
      { hub: "https://b.example/hub", hubs: ["https://b.example/hub"] },
    ],
    [
      "an unreadable link skipped, the next one read",
      [
        'garbage; rel="mercure", <https://a.example/hub> junk; rel="mercure", <https://b.example/hub>; rel=mercure',
      ],
      { hub: "https://b.example/hub", hubs: ["https://b.example/hub"] },
    ],
    [
      "no mercure link",
      ['<https://example.com/books/1>; rel="self", <https://a.example/hub>; rel="hub"'],
      undefined,
    ],
    [
      'a rel that only contains the word ("mercure-like")',
      ['<https://a.example/hub>; rel="mercure-like"'],
      undefined,
    ],
    ["an unterminated quoted rel", ['<https://a.example/hub>; rel="mercure'], undefined],
    ["an unterminated target", ['<https://a.example/hub; rel="mercure"'], undefined],
    ["no Link header", [], undefined],
    ["an empty Link header", [""], undefined],
  ];
  for (const [name, links, expected] of cases) {
    test(name, () => {
      assert.deepEqual(discover(withLinks(links)), expected);
    });
  }

  test("resolves relative targets against the response's URL", () => {
    const found = discover(
      withLinks(
        ['</.well-known/mercure>; rel="mercure"', '<../books/1>; rel="self"'],
        "https://example.com/api/books/1",
      ),
    );
    assert.deepEqual(found, {
      hub: "https://example.com/.well-known/mercure",
      hubs: ["https://example.com/.well-known/mercure"],
      topic: "https://example.com/api/books/1",
    });
  });

  test("leaves a relative target as written when the response has no URL", () => {
    assert.deepEqual(discover(withLinks(['</.well-known/mercure>; rel="mercure"'])), {
      hub: "/.well-known/mercure",
      hubs: ["/.well-known/mercure"],
    });
  });

  test("reads a Response", () => {
    const response = new Response(null, { headers: { Link: '<https://hub.example/hub>; rel="mercure"' } });
    assert.equal(discover(response)?.hub, "https://hub.example/hub");
  });

  test("reads no further than MAX_LINK_HEADER_LENGTH", () => {
    const padding = `<https://example.com/${"x".repeat(MAX_LINK_HEADER_LENGTH)}>; rel="self"`;
    assert.equal(discover(withLinks([padding, '<https://a.example/hub>; rel="mercure"'])), undefined);
    assert.equal(
      discover(withLinks(['<https://a.example/hub>; rel="mercure"', padding]))?.hub,
      "https://a.example/hub",
    );
  });

  test("parseLinkHeader unescapes quoted values and lowercases names", () => {
    assert.deepEqual(parseLinkHeader('<a>; Title="say \\"hi\\""; rel=x; flag'), [
      {
        target: "a",
        params: new Map([
          ["title", 'say "hi"'],
          ["rel", "x"],
          ["flag", ""],
        ]),
      },
    ]);
  });
});

describe("discoverFrom", () => {
  let server: ReturnType<typeof createServer>;
  let origin: string;
  const methods: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      methods.push(`${req.method} ${req.url}`);
      if (req.url === "/head-too") {
        res.writeHead(200, { Link: '</hub>; rel="mercure", </books/1>; rel="self"' }).end();
      } else if (req.url === "/get-only") {
        if (req.method === "HEAD") res.writeHead(405).end();
        else res.writeHead(200, { Link: '</hub>; rel="mercure"' }).end("a body");
      } else if (req.url === "/private") {
        res.writeHead(401, { "WWW-Authenticate": 'Bearer error="invalid_token"' }).end();
      } else {
        res.writeHead(200).end("no link");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test("asks with HEAD, and stops there when it announces a hub", async () => {
    methods.length = 0;
    assert.deepEqual(await discoverFrom(`${origin}/head-too`), {
      hub: `${origin}/hub`,
      hubs: [`${origin}/hub`],
      topic: `${origin}/books/1`,
    });
    assert.deepEqual(methods, ["HEAD /head-too"]);
  });

  test("falls back to GET when HEAD is refused", async () => {
    methods.length = 0;
    assert.equal((await discoverFrom(`${origin}/get-only`))?.hub, `${origin}/hub`);
    assert.deepEqual(methods, ["HEAD /get-only", "GET /get-only"]);
  });

  test("is undefined for a resource that announces no hub", async () => {
    assert.equal(await discoverFrom(`${origin}/plain`), undefined);
  });

  test("rejects with the typed error of a refusal", async () => {
    await assert.rejects(discoverFrom(`${origin}/private`), (error: unknown) => {
      assert.ok(error instanceof MercureUnauthorizedError);
      assert.equal(error.code, "invalid_token");
      return true;
    });
  });
});

describe("discover against the hub", () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub({ subscriptions: true });
  });
  after(() => hub.close());

  test("finds the hub in the subscription API's Link, past its extra parameters", async () => {
    const token = await hub.token({ subscribe: ["*"] });
    const found = await discoverFrom(`${hub.hubUrl}/subscriptions`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(found?.hub, hub.hubUrl);
    assert.deepEqual(found?.hubs, [hub.hubUrl]);
  });
});
