import { connect, type Socket } from "node:net";

/**
 * A subscriber over a bare TCP socket: the request is written by hand and the response is kept as
 * the socket delivered it. Tests use it where an HTTP client would hide what they check: how
 * events were grouped into socket reads and into HTTP chunks (one chunk is one write by the hub),
 * or a client that stops reading altogether.
 */
export interface RawStream {
  readonly socket: Socket;
  /** Every `data` read from the socket, as received (headers included). */
  readonly reads: Buffer[];
  /** The payload of every HTTP/1.1 chunk of the body, in order. */
  readonly chunks: Buffer[];
  /** The status line and headers, once they arrived. */
  head: string | undefined;
  /** The body so far, de-chunked, as UTF-8. */
  body(): string;
  /** Resolves when `predicate` holds for the stream (checked on every read); rejects if it closes first. */
  until(predicate: (stream: RawStream) => boolean): Promise<void>;
  /** Resolves when the socket is closed. */
  readonly closed: Promise<void>;
  /** Starts reading, for a stream opened with `read: false`. */
  resume(): void;
  close(): void;
}

export interface RawStreamOptions {
  readonly headers?: Record<string, string>;
  /** False: read nothing (after the kernel and Node buffers fill, the hub sees a stalled client). */
  readonly read?: boolean;
}

/** Opens `GET url` on a raw socket and resolves once the request was sent. */
export function openRawStream(url: string, options: RawStreamOptions = {}): Promise<RawStream> {
  const target = new URL(url);
  const socket = connect({ host: target.hostname, port: Number(target.port) });
  const reads: Buffer[] = [];
  const chunks: Buffer[] = [];
  let pending: Buffer = Buffer.alloc(0);
  let head: string | undefined;
  // The body as text, decoded as it arrives (a stream may carry many megabytes).
  const decoder = new TextDecoder();
  let text = "";
  let waiters: (() => void)[] = [];
  let isClosed = false;
  const notify = () => {
    const current = waiters;
    waiters = [];
    for (const wake of current) wake();
  };

  // De-chunks what has arrived: `size CRLF payload CRLF`, repeated.
  const parse = () => {
    if (head === undefined) {
      const end = pending.indexOf("\r\n\r\n");
      if (end === -1) return;
      head = pending.subarray(0, end).toString("latin1");
      pending = pending.subarray(end + 4);
    }
    for (;;) {
      const lineEnd = pending.indexOf("\r\n");
      if (lineEnd === -1) return;
      const size = Number.parseInt(pending.subarray(0, lineEnd).toString("latin1"), 16);
      if (pending.length < lineEnd + 2 + size + 2) return;
      if (size > 0) {
        const chunk = pending.subarray(lineEnd + 2, lineEnd + 2 + size);
        chunks.push(chunk);
        text += decoder.decode(chunk, { stream: true });
      }
      pending = pending.subarray(lineEnd + 2 + size + 2);
    }
  };

  const stream: RawStream = {
    socket,
    reads,
    chunks,
    head: undefined,
    body: () => text,
    until: (predicate) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(stream)) resolve();
          else if (isClosed)
            reject(new Error(`the raw stream closed; body so far: ${stream.body().slice(-200)}`));
          else waiters.push(check);
        };
        check();
      }),
    closed: new Promise((resolve) => {
      socket.on("close", () => {
        isClosed = true;
        notify();
        resolve();
      });
    }),
    resume: () => {
      socket.on("data", onData);
      socket.resume();
    },
    close: () => socket.destroy(),
  };
  const onData = (data: Buffer) => {
    reads.push(data);
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    parse();
    stream.head = head;
    notify();
  };
  // A stalled client may see its connection reset by the hub: that is the outcome under test.
  socket.on("error", () => {});
  if (options.read === false) socket.pause();
  else socket.on("data", onData);

  const headers = { Host: target.host, Accept: "text/event-stream", ...options.headers };
  const request = [
    `GET ${target.pathname}${target.search} HTTP/1.1`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.write(request, () => {
      socket.off("error", reject);
      resolve(stream);
    });
  });
}

/** How many SSE events (counted by their `id:` line) a piece of a stream holds. */
export function countEvents(bytes: Buffer | string): number {
  const text = typeof bytes === "string" ? bytes : bytes.toString("utf8");
  let count = 0;
  for (let at = text.indexOf("id: "); at !== -1; at = text.indexOf("id: ", at + 4)) {
    if (at === 0 || text[at - 1] === "\n") count++;
  }
  return count;
}
