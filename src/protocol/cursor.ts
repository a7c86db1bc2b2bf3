/** The reserved cursor that asks for every update history keeps (draft, "Reconciliation"). */
export const EARLIEST = "earliest";

/**
 * What a cursor whose bytes are not UTF-8 (in the `Last-Event-ID` header or percent-encoded in
 * the query) stands for. It names no event, since every id is UTF-8 (the publish form refuses
 * anything else), so it is an unknown cursor, and an unknown cursor replays from the earliest
 * update kept, answered `earliest`. Decoding it leniently instead would turn the bad bytes into
 * U+FFFD, and a cursor of garbage would find an id that holds that character.
 */
export const UNDECODABLE_CURSOR = EARLIEST;
