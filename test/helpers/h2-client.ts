import type {
  ClientHttp2Session,
  ClientHttp2Stream,
  IncomingHttpHeaders,
  OutgoingHttpHeaders,
} from "node:http2";
import { type SseEvent, SseParser } from "../../src/protocol/sse-parser.ts";

/** An answer read in full. */
export interface H2Answer {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request on an HTTP/2 session, answered in full. */
export function h2Exchange(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  body?: string,
): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let received = "";
    let answerHeaders: IncomingHttpHeaders = {};
    stream.on("response", (h) => {
      answerHeaders = h;
    });
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      received += chunk;
    });
    stream.on("end", () => resolve({ headers: answerHeaders, body: received }));
    stream.on("error", reject);
    if (body !== undefined) stream.end(body);
  });
}

/** A publish over an HTTP/2 session. */
export function h2Publish(
  session: ClientHttp2Session,
  path: string,
  token: string,
  fields: Record<string, string>,
): Promise<H2Answer> {
  return h2Exchange(
    session,
    {
      ":method": "POST",
      ":path": path,
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Bearer ${token}`,
    },
    new URLSearchParams(fields).toString(),
  );
}

/** A subscriber stream on an HTTP/2 session, its events parsed as they arrive. */
export interface H2Stream {
  readonly stream: ClientHttp2Stream;
  readonly headers: Promise<IncomingHttpHeaders>;
  readonly events: SseEvent[];
  waitForEvents(count: number): Promise<SseEvent[]>;
  /** Resolves when the stream closes: whether it ended with END_STREAM, and its RST_STREAM code. */
  readonly closed: Promise<{ ended: boolean; rstCode: number }>;
}

export function h2Subscribe(
  session: ClientHttp2Session,
  pathAndQuery: string,
  headers: OutgoingHttpHeaders = {},
): H2Stream {
  const stream = session.request({ ":path": pathAndQuery, accept: "text/event-stream", ...headers });
  const events: SseEvent[] = [];
  let waiters: (() => void)[] = [];
  const parser = new SseParser({
    onEvent: (event) => {
      events.push(event);
      const pending = waiters;
      waiters = [];
      for (const wake of pending) wake();
    },
  });
  stream.on("data", (chunk: Buffer) => parser.push(chunk));
  // A stream the hub cuts is an outcome here, not a failure.
  stream.on("error", () => {});
  let ended = false;
  stream.on("end", () => {
    ended = true;
  });
  const closed = new Promise<{ ended: boolean; rstCode: number }>((resolve) =>
    stream.on("close", () => resolve({ ended, rstCode: stream.rstCode ?? 0 })),
  );
  return {
    stream,
    headers: new Promise((resolve) => stream.once("response", resolve)),
    events,
    closed,
    waitForEvents(count) {
      if (events.length >= count) return Promise.resolve(events.slice(0, count));
      return new Promise((resolve, reject) => {
        const check = () => {
          if (events.length >= count) resolve(events.slice(0, count));
          else waiters.push(check);
        };
        waiters.push(check);
        void closed.then(() => reject(new Error(`the stream closed after ${events.length} events`)));
      });
    },
  };
}
