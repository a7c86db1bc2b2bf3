/**
 * Publishing on schedule: the i-th send leaves at `i / perSecond` seconds whether or not the
 * previous ones were answered, so that a late hub cannot slow the load down and hide its own
 * latency.
 */
import { setTimeout as sleep } from "node:timers/promises";

/** Calls `send(i)` for i from 0 to `count - 1` at `perSecond`; resolves once every send settled. */
export async function pace(
  count: number,
  perSecond: number,
  send: (i: number) => Promise<void>,
): Promise<void> {
  const started = performance.now();
  // Counted rather than kept: an hour at a high rate is millions of sends.
  let unsettled = 0;
  let allSettled = () => {};
  const settled = () => {
    if (--unsettled === 0) allSettled();
  };
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / perSecond - performance.now();
    if (wait > 1) await sleep(wait);
    unsettled++;
    send(i).then(settled, settled);
  }
  if (unsettled > 0) await new Promise<void>((resolve) => (allSettled = resolve));
}
