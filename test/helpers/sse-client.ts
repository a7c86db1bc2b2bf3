import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:http";
import { type SseEvent, SseParser } from "../../src/protocol/sse-parser.ts";

export interface StreamOptions {
  readonly headers?: Record<string, string>;
  readonly method?: string;
  readonly body?: string;
}

/** A subscriber stream over a real socket, parsed with the project's SSE parser. */
export interface Stream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body, for a response that is not a stream (an error). */
  readonly body: Promise<string>;
  readonly events: SseEvent[];
  readonly comments: string[];
  /** The reconnection delays the hub asked for with `retry` fields, in order. */
  readonly retries: number[];
  /** What arrived, in order: "event" or "comment" per item (to check what came first). */
  readonly sequence: ("event" | "comment")[];
  /** Resolves once `count` events arrived in total (rejects if the stream ends first). */
  waitForEvents(count: number): Promise<SseEvent[]>;
  /** Resolves once `count` comments arrived in total. */
  waitForComments(count: number): Promise<string[]>;
  /** Resolves when the hub ends the stream. */
  readonly ended: Promise<void>;
  /**
   * Resolves when the stream ends: true when the hub ended the response cleanly (the chunked body
   * was terminated), false when the connection was cut mid-response.
   */
  readonly endedCleanly: Promise<boolean>;
  close(): void;
}

export function openStream(url: string | URL, options: StreamOptions = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers }, (res) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      const retries: number[] = [];
      const sequence: ("event" | "comment")[] = [];
      let waiters: (() => void)[] = [];
      const notify = () => {
        const pending = waiters;
        waiters = [];
        for (const wake of pending) wake();
      };
      let finished = false;
      const parser = new SseParser({
        onEvent: (event) => {
          events.push(event);
          sequence.push("event");
          notify();
        },
        onComment: (text) => {
          comments.push(text);
          sequence.push("comment");
          notify();
        },
        onRetry: (ms) => {
          retries.push(ms);
        },
      });
      let raw = "";
      const isStream = (res.headers["content-type"] ?? "").startsWith("text/event-stream");
      let complete = false;
      // A stream the hub cuts mid-response errors with "aborted": that is an outcome, not a crash.
      res.on("error", () => {});
      res.on("end", () => {
        complete = res.complete;
      });
      const endedCleanly = new Promise<boolean>((done) => {
        res.on("close", () => {
          finished = true;
          notify();
          done(complete);
        });
      });
      const ended = endedCleanly.then(() => undefined);
      res.on("data", (chunk: Buffer) => {
        if (isStream) parser.push(chunk);
        else raw += chunk.toString("utf8");
      });
      const waitFor = <T>(list: T[], count: number): Promise<T[]> =>
        new Promise((done, fail) => {
          const check = () => {
            if (list.length >= count) done(list.slice(0, count));
            else if (finished) fail(new Error(`the stream ended after ${list.length} of ${count}`));
            else waiters.push(check);
          };
          check();
        });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: ended.then(() => raw),
        events,
        comments,
        retries,
        sequence,
        waitForEvents: (count) => waitFor(events, count),
        waitForComments: (count) => waitFor(comments, count),
        ended,
        endedCleanly,
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
    if (options.body !== undefined) req.end(options.body);
    else req.end();
  });
}

/** The hub URL with subscribe parameters appended. */
export function subscribeUrl(hubUrl: string, parameters: [string, string][]): string {
  const url = new URL(hubUrl);
  for (const [name, value] of parameters) url.searchParams.append(name, value);
  return url.href;
}
