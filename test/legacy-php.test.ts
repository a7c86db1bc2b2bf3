/**
 * Symfony's own Mercure component (symfony/mercure 0.6, Debian's php-symfony-mercure) publishing
 * to the hub in the legacy dialect: its `Hub` and deprecated `Publisher` classes, `Update` objects
 * with several topics, private and public, and a legacy token in `Authorization: Bearer`.
 * Subscribers use `topic=` with exact topics, URI templates and `*`.
 *
 * PHP is a requirement, not an option: a missing `php` fails the test (CI installs it, .ci/run).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  eventsBefore,
  legacyToken,
  openLegacyStream,
  startLegacyHub,
  symfonyAuthorizationCookie,
} from "./helpers/legacy.ts";
import type { Stream } from "./helpers/sse-client.ts";
import type { TestHub } from "./helpers/test-hub.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/php/", import.meta.url));
const INSTALL =
  "install php-cli and php-symfony-mercure (apt-get install -y php-cli php-symfony-mercure; .ci/run does it)";

const BOOKS = "https://example.com/books/{id}";
const REVIEWS = "https://example.com/reviews/{id}";
const MARKER = "https://example.com/marker";

interface PhpUpdate {
  topics: string[];
  data?: string;
  private?: boolean;
  id?: string;
  type?: string;
  retry?: number;
  /** The component's class that sends it: `Hub` (default) or the deprecated `Publisher`. */
  via?: "Hub" | "Publisher";
}

interface PhpResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a fixture script with `php`; a missing interpreter is a failure that says what to install. */
function runPhp(script: string, env: Record<string, string>): Promise<PhpResult> {
  return new Promise((resolve, reject) => {
    execFile(
      "php",
      [`${FIXTURES}${script}`],
      { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        if (error !== null && (error as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new Error(`php is not on the PATH: ${INSTALL}`));
          return;
        }
        if (error?.killed) {
          reject(new Error(`php ${script} was killed (${error.signal}): ${stderr}`));
          return;
        }
        if (error !== null && error.code === 3) {
          reject(new Error(`${stderr.trim()}: ${INSTALL}`));
          return;
        }
        resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
  });
}

/** Publishes `updates` with symfony/mercure; resolves with the ids the component returned. */
async function publishWithSymfony(hub: TestHub, token: string, updates: PhpUpdate[]): Promise<string[]> {
  const result = await runPhp("publish.php", {
    MERCURE_URL: hub.hubUrl,
    MERCURE_JWT: token,
    MERCURE_UPDATES: JSON.stringify(updates),
  });
  assert.equal(result.code, 0, `publish.php failed: ${result.stderr}`);
  const ids: unknown = JSON.parse(result.stdout);
  assert.ok(Array.isArray(ids) && ids.length === updates.length, result.stdout);
  return ids as string[];
}

describe("legacy dialect: symfony/mercure (PHP) publishing", { timeout: 60_000 }, () => {
  let hub: TestHub;
  let publisher: string;
  /** Granted the books (a URI template), subscribed to the books template and the marker. */
  let reader: Stream;
  /** Granted the reviews only, subscribed to everything (`*`). */
  let outsider: Stream;

  before(async () => {
    hub = await startLegacyHub();
    publisher = await legacyToken({
      publish: [BOOKS, REVIEWS, "https://example.com/authors/{id}", MARKER],
    });
    reader = await openLegacyStream(hub, [BOOKS, MARKER], await legacyToken({ subscribe: [BOOKS] }));
    outsider = await openLegacyStream(hub, ["*"], await legacyToken({ subscribe: [REVIEWS] }));
  });
  after(async () => {
    reader?.close();
    outsider?.close();
    await hub?.close();
  });

  it("delivers Symfony's public and private updates to the subscribers they are for, in order", async () => {
    const ids = await publishWithSymfony(hub, publisher, [
      { topics: ["https://example.com/books/1"], data: "public book 1", id: "urn:example:book-1-v1" },
      {
        // Private, several topics: the second one matches the reader's template and grant.
        topics: ["https://example.com/authors/7", "https://example.com/books/2"],
        data: '{"title":"Private book 2"}',
        private: true,
        type: "book.updated",
        retry: 5000,
      },
      { topics: ["https://example.com/reviews/3"], data: "private review 3", private: true },
      { topics: ["https://example.com/authors/8"], data: "public author 8", via: "Publisher" },
      { topics: [MARKER], data: "marker", via: "Publisher" },
    ]);
    const [book1, book2, review3, author8, marker] = ids as [string, string, string, string, string];
    assert.equal(book1, "urn:example:book-1-v1", "the hub returns the id the publisher chose");
    for (const id of [book2, review3, author8, marker]) assert.match(id, /^urn:uuid:[0-9a-f-]{36}$/);

    const simplify = (events: { id: string; type: string; data: string; retry?: number }[]) =>
      events.map(({ id, type, data, retry }) => ({
        id,
        type,
        data,
        ...(retry === undefined ? {} : { retry }),
      }));
    assert.deepEqual(
      simplify(await eventsBefore(reader, marker)),
      [
        { id: book1, type: "message", data: "public book 1" },
        { id: book2, type: "book.updated", data: '{"title":"Private book 2"}', retry: 5000 },
      ],
      "the reader gets both books (public, and private through its template grant), not the review nor the author",
    );
    assert.deepEqual(
      simplify(await eventsBefore(outsider, marker)).map(({ id, data }) => ({ id, data })),
      [
        { id: book1, data: "public book 1" },
        { id: review3, data: "private review 3" },
        { id: author8, data: "public author 8" },
      ],
      "`*` gets every public update and the private review it is granted, never the private book",
    );
  });

  it("reports the hub's refusal through the component, and nothing is dispatched", async () => {
    const booksOnly = await legacyToken({ publish: [BOOKS] });
    const refused = await runPhp("publish.php", {
      MERCURE_URL: hub.hubUrl,
      MERCURE_JWT: booksOnly,
      MERCURE_UPDATES: JSON.stringify([
        { topics: ["https://example.com/reviews/4"], data: "forbidden", private: true },
      ]),
    });
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /RuntimeException: Failed to send an update\./);
    assert.match(refused.stderr, /^HTTP status 403$/m, "the component saw the hub's 403");

    const before = outsider.events.length;
    const [marker] = await publishWithSymfony(hub, publisher, [{ topics: [MARKER] }]);
    const events = await eventsBefore(outsider, marker as string);
    assert.deepEqual(
      events.slice(before),
      [],
      "the marker is the next event: the refused update was not dispatched",
    );
  });

  it("sets the mercureAuthorization cookie as test/helpers/legacy.ts mirrors it", async () => {
    // The browser test's application server sets the cookie by hand: this pins it to the real
    // component's Authorization::createCookie, for an application and a hub on the same host.
    const port = (hub.server.address() as { port: number }).port;
    const hubUrl = `http://localhost:${port}/.well-known/mercure`;
    const token = await legacyToken({ subscribe: [BOOKS], ttlSeconds: 3600 });
    const result = await runPhp("authorization-cookie.php", {
      APP_URL: "http://localhost:8000/",
      MERCURE_URL: hubUrl,
      MERCURE_JWT: token,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), symfonyAuthorizationCookie(token, hubUrl));
  });
});
