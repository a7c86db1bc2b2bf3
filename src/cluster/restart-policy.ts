/** Worker exits within `CRASH_WINDOW_MS` past which the hub stops rather than restart them again. */
export const MAX_CRASHES = 10;
export const CRASH_WINDOW_MS = 60_000;
/** The first restart waits this long, each exit within the window doubling it up to the most. */
const FIRST_RESTART_MS = 100;
const MOST_RESTART_MS = 5_000;

/**
 * When to restart a worker that exited: soon after a lone exit, later the more exits there were
 * within the window (a worker that dies at once must not spin the machine), and never again past
 * `MAX_CRASHES` exits within it: the hub then stops and says so.
 */
export class RestartPolicy {
  /** When each exit within the window happened, oldest first. */
  readonly #exits: number[] = [];

  /** Records an exit at `now`: the delay before the restart, or undefined to stop the hub. */
  exited(now: number): number | undefined {
    this.#exits.push(now);
    while (this.#exits[0]! <= now - CRASH_WINDOW_MS) this.#exits.shift();
    if (this.#exits.length > MAX_CRASHES) return undefined;
    return Math.min(MOST_RESTART_MS, FIRST_RESTART_MS * 2 ** (this.#exits.length - 1));
  }

  /** Why the hub stops, once `exited` said to. */
  get reason(): string {
    return `workers exited ${this.#exits.length} times within ${CRASH_WINDOW_MS / 1000} s; stopping the hub (the log says how each exited)`;
  }
}
