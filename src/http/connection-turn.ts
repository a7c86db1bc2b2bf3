import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { canAnswer } from "./exchange.ts";

/**
 * The requests of one connection are acted on one at a time, in order: a request is handled
 * only once its response owns the socket, that is once every response before it has finished.
 *
 * node:http parses pipelined requests as they arrive and emits each at once, its response queued
 * behind the others. A request behind a subscriber stream would then be acted on (an update
 * published, a subscription opened) while its answer could never be sent: the stream is the
 * connection's last response and never finishes. Waiting for the socket means such a request is
 * never acted on, and is dropped, unanswered, when the connection closes.
 *
 * Waiting requests cost memory node:http does not bound (it stops reading a connection only once
 * queued responses hold bytes, and a waiting request has written none): over `maxWaiting` per
 * connection, the connection is closed.
 *
 * HTTP/1.x only: HTTP/2 multiplexes its requests on streams, each answered on its own.
 */

/** A connection with requests waiting: how many, and its closing, awaited by all of them. */
interface Queue {
  waiting: number;
  readonly closed: Promise<void>;
}

/** Only connections that pipelined appear here. */
const queues = new WeakMap<Socket, Queue>();

export type Turn =
  /** The response owns the socket and the connection is open: handle the request. */
  | "ready"
  /** The connection closed first: drop the request, nothing can answer it. */
  | "closed"
  /** Too many requests wait on this connection: it was closed, every one of them is dropped. */
  | "overflow";

/**
 * Resolves when the request may be handled. Only for a request whose response does not own its
 * socket yet (`res.socket === null`): the usual, unpipelined request is handled without waiting.
 */
export async function waitForTurn(
  req: IncomingMessage,
  res: ServerResponse,
  maxWaiting: number,
): Promise<Turn> {
  const socket = req.socket;
  if (socket.destroyed) return "closed";
  let queue = queues.get(socket);
  if (queue === undefined) {
    // One listener per connection, however many requests wait on it.
    queue = { waiting: 0, closed: new Promise((resolve) => socket.once("close", () => resolve())) };
    queues.set(socket, queue);
  }
  if (queue.waiting >= maxWaiting) {
    socket.destroy();
    return "overflow";
  }
  queue.waiting++;
  // node:http hands the socket to the next response once the one before it has finished.
  await Promise.race([new Promise((resolve) => res.once("socket", resolve)), queue.closed]);
  queue.waiting--;
  return canAnswer(req, res) ? "ready" : "closed";
}
