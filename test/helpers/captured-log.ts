import type { Logger } from "../../src/hub/logger.ts";

export interface LogEntry {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly message: string | undefined;
  readonly fields: Record<string, unknown>;
}

/** A logger that keeps every entry, so a test can wait for one or check what was never logged. */
export interface CapturedLog {
  readonly logger: Logger;
  readonly entries: LogEntry[];
  /**
   * Resolves with the first entry that `predicate` accepts, among those logged from index `since`
   * of `entries` on (all of them by default), already or later.
   */
  waitFor(predicate: (entry: LogEntry) => boolean, since?: number): Promise<LogEntry>;
}

export function captureLog(): CapturedLog {
  const entries: LogEntry[] = [];
  let waiters: (() => void)[] = [];
  const capture =
    (level: LogEntry["level"]) =>
    (fields: object, message?: string): void => {
      entries.push({ level, message, fields: fields as Record<string, unknown> });
      const current = waiters;
      waiters = [];
      for (const wake of current) wake();
    };
  return {
    logger: {
      debug: capture("debug"),
      info: capture("info"),
      warn: capture("warn"),
      error: capture("error"),
    },
    entries,
    waitFor: (predicate, since = 0) =>
      new Promise((resolve) => {
        const check = () => {
          const found = entries.slice(since).find(predicate);
          if (found !== undefined) resolve(found);
          else waiters.push(check);
        };
        check();
      }),
  };
}
