/**
 * The data a load publisher sends, in the shapes the event counter (event-counter.ts) reads: one
 * line, starting with a stamp and padded with `x` to the size asked for. A measured update starts
 * with `t=<epoch ms>;`, the publisher's clock when it left; a warm-up event with `w=<sequence>;`.
 * Publisher and subscribers share one clock (`performance.timeOrigin + performance.now()`), as
 * they run on one machine.
 */

/** The longest stamp: `t=` and an epoch in ms with its fraction, and `;`. */
export const MAX_STAMP_BYTES = 32;

/** `t=<now>;` padded with `x` to `bytes`. */
export function stampedData(bytes: number): string {
  return `t=${performance.timeOrigin + performance.now()};`.padEnd(bytes, "x");
}

/** The data of warm-up event `sequence`: `w=<sequence>;`, padded with `x` to `bytes`. */
export function warmUpData(sequence: number, bytes: number): string {
  return `w=${sequence};`.padEnd(bytes, "x");
}
