/** The bounds of the reconnection delay. */
export interface ReconnectOptions {
  /** The first delay's upper bound, doubled after each failed attempt (default 500 ms). */
  readonly minDelayMs?: number;
  /** The largest upper bound (default 30 s). */
  readonly maxDelayMs?: number;
}

export const DEFAULT_RECONNECT_MIN_DELAY_MS = 500;
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 30_000;

/**
 * The delay before reconnection attempt `attempt` (0 for the first): exponential backoff with
 * full jitter (a random delay up to the bound), so that the clients of a hub that restarts do not
 * all come back in the same instant; never below `floorMs` (the hub's last `retry:`, or its
 * `Retry-After`).
 */
export function backoffDelay(
  attempt: number,
  options: ReconnectOptions,
  floorMs: number,
  random: () => number = Math.random,
): number {
  const min = options.minDelayMs ?? DEFAULT_RECONNECT_MIN_DELAY_MS;
  const max = Math.max(min, options.maxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS);
  const bound = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.max(floorMs, Math.floor(random() * bound));
}
