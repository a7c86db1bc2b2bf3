/**
 * A load-generator process whose subscribers are HTTP/2 streams, as a browser's are: one
 * cleartext HTTP/2 session (h2c, prior knowledge) per page, carrying many EventSource streams.
 * It opens `count` streams, `streamsPerSession` (its first argument) on each session, the
 * sessions bound to its own loopback source addresses, and counts each stream's events as the
 * raw generator counts a socket's (src/loadtest/event-counter.ts): the DATA frames' payload is
 * the SSE body, with no chunk framing. It answers the raw generator's commands (generator-process.ts), so the
 * pool and the scenarios drive both alike.
 *
 * node:http2 parses the frames in C++ and calls back into JavaScript once per DATA frame per
 * stream: a delivery costs this process more than a raw socket's share of one read, which its
 * reported CPU share shows.
 *
 * The probes are the first streams opened, as the raw generator's are its first sockets: both
 * time the subscribers the hub registered first, so that their latencies compare.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, connect as connectHttp2 } from "node:http2";
import { connect } from "node:net";
import { EventCounter } from "../../src/loadtest/event-counter.ts";
import { type OpenCommand, serveGenerator } from "./generator-process.ts";

const streamsPerSession = Number(process.argv[2]);
if (!Number.isInteger(streamsPerSession) || streamsPerSession < 1)
  throw new Error(`streams per session must be a whole number of at least 1, not ${process.argv[2]}`);

/**
 * Flow-control windows as Chrome opens them (6 MB a stream, 15 MB the session), so that the
 * client's window, not the hub, never sets the pace; node:http2 gives back what was read.
 */
const STREAM_WINDOW = 6 * 1024 * 1024;
const SESSION_WINDOW = 15 * 1024 * 1024;

/** The path and query of a raw subscribe request head (`GET <path> HTTP/1.1`). */
function pathOf(head: string): string {
  const path = head.slice(0, head.indexOf("\r\n")).split(" ")[1];
  if (path === undefined) throw new Error(`no request line in ${JSON.stringify(head.slice(0, 80))}`);
  return path;
}

const sessions: ClientHttp2Session[] = [];

/** One session from `localAddress`, resolved once its connection is up (or with why not). */
function openSession(port: number, localAddress: string | undefined): Promise<ClientHttp2Session | Error> {
  return new Promise((resolve) => {
    const session = connectHttp2(`http://127.0.0.1:${port}`, {
      settings: { initialWindowSize: STREAM_WINDOW },
      createConnection: () => {
        const socket = connect({ port, host: "127.0.0.1", ...(localAddress ? { localAddress } : {}) });
        socket.setNoDelay(true);
        return socket;
      },
    });
    sessions.push(session);
    session.once("connect", () => {
      session.setLocalWindowSize(SESSION_WINDOW);
      resolve(session);
    });
    // Before the connection is up, an error fails the session's streams; after, its streams
    // close, and the coordinator counts them as closed early.
    session.on("error", (error) => resolve(error));
  });
}

/** One subscriber stream on `session`; its counter is closed with the stream. */
function openStream(session: ClientHttp2Session, path: string, counter: EventCounter): ClientHttp2Stream {
  const stream = session.request({ ":path": path, accept: "text/event-stream" }, { endStream: true });
  stream.on("response", (headers) => {
    counter.statusLine = `HTTP/2 ${headers[":status"]}`;
  });
  stream.on("data", (chunk: Buffer) => counter.count(chunk));
  // A refused or reset stream is a closed subscriber, which the coordinator reports.
  stream.on("error", () => {});
  stream.once("close", () => {
    counter.closed = true;
  });
  return stream;
}

serveGenerator({
  async open(command: OpenCommand, { subscribers, latencies, onEvent }) {
    let failed = 0;
    let firstError: string | undefined;
    const bySourceAddress: Record<string, number> = {};
    const sessionCount = Math.ceil(command.count / streamsPerSession);
    // Sessions connect in waves, so the hub's accept queue is not flooded.
    for (let wave = 0; wave < sessionCount; wave += 100) {
      const waveSessions = Math.min(100, sessionCount - wave);
      await Promise.all(
        Array.from({ length: waveSessions }, async (_, w) => {
          const s = wave + w;
          const first = s * streamsPerSession;
          const streams = Math.min(streamsPerSession, command.count - first);
          const address = command.addresses[s % command.addresses.length];
          const session = await openSession(command.port, address);
          if (session instanceof Error) {
            failed += streams;
            firstError ??= session.message;
            return;
          }
          for (let i = first; i < first + streams; i++) {
            const counter = new EventCounter(i < command.probes ? latencies : undefined, onEvent);
            openStream(session, pathOf(command.requests[i % command.requests.length]!), counter);
            subscribers.push(counter);
          }
          const bound = session.socket.localAddress ?? "unknown";
          bySourceAddress[bound] = (bySourceAddress[bound] ?? 0) + streams;
        }),
      );
    }
    return { failed, bySourceAddress, ...(firstError ? { firstError } : {}) };
  },
  close() {
    for (const session of sessions) session.destroy();
  },
});
