import type { Connection } from "./connection.ts";
import { mayRead } from "./may-read.ts";
import type { Position, Replay } from "./transport.ts";

/** Replay is written in slices of this size, waiting for the socket in between. */
const REPLAY_SLICE_BYTES = 64 * 1024;
/**
 * Updates a replay examines before it lets the event loop run other work: a replay that selects
 * few of a long history would otherwise scan all of it in one turn, stalling every other stream.
 */
const REPLAY_SCAN_SLICE = 256;
/**
 * Matching work a replay does before it lets the event loop run other work, in topic characters
 * × automaton instructions (a bound on engine steps, to within a small factor): the subscriber
 * chooses its patterns, and within their bound they may cost a million steps per update, so a
 * count of updates alone would let one replay hold the hub for seconds.
 */
const REPLAY_MATCHING_SLICE = 1_000_000;

/** What a replay did: the position of the last update it yielded, and how many it sent. */
export interface ReplayOutcome {
  /** Sent or not (each was looked at); undefined when it yielded none, or the connection closed. */
  readonly last: Position | undefined;
  readonly sent: number;
}

/**
 * Sends a replay to a connection that started and holds its live updates meanwhile. Resolves once
 * the replay is done, or as soon as the connection closed. Throws the transport's TransportError
 * when history cannot go on with the replay.
 */
export async function sendReplay(
  connection: Connection,
  replay: Replay,
  now: () => number,
): Promise<ReplayOutcome> {
  let last: Position | undefined;
  let sent = 0;
  let scanned = 0;
  let matching = 0;
  for await (const { update, position } of replay.entries) {
    if (connection.closed) return { last: undefined, sent };
    if (++scanned % REPLAY_SCAN_SLICE === 0 || matching >= REPLAY_MATCHING_SLICE) {
      matching = 0;
      await new Promise(setImmediate);
    }
    // Grants first: they come from the token's issuer, the patterns from the subscriber, who
    // must not make the hub evaluate them against private updates it may not read.
    if (mayRead(connection.grants, update)) {
      matching += connection.instructions * topicsLength(update.topics);
      if (connection.matchesAny(update.topics)) {
        connection.enqueueUpdate(update);
        sent++;
        if (connection.queuedBytes >= REPLAY_SLICE_BYTES) {
          connection.flush(now());
          if (connection.backedUp) await connection.writable();
        }
      }
    }
    last = position;
  }
  return { last: connection.closed ? undefined : last, sent };
}

function topicsLength(topics: readonly string[]): number {
  let length = 0;
  for (const topic of topics) length += topic.length;
  return length;
}
