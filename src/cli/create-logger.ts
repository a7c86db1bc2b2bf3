import { type Logger as PinoLogger, pino } from "pino";
import pretty from "pino-pretty";

/**
 * Fields no log line may show, wherever a future line puts them: tokens and the headers, cookie
 * and query parameter that carry them, keys, passwords, and an update's data. The hub's own lines
 * never hold them (docs/logging.md says what they hold); this is the net beneath.
 */
export const REDACTED_PATHS: readonly string[] = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "headers.cookie",
  "*.headers.authorization",
  "*.headers.cookie",
  "authorization",
  "*.authorization",
  "cookie",
  "*.cookie",
  "token",
  "*.token",
  "key",
  "*.key",
  "password",
  "*.password",
  "secret",
  "*.secret",
  "data",
  "*.data",
];

export interface LoggerConfig {
  readonly level: string;
  readonly format: "json" | "pretty";
  /** A worker's pid: each of its lines carries it as `worker`. */
  readonly worker?: number | undefined;
}

/**
 * The logger of `quicksilver serve`: JSON lines on stdout (what log collectors read), or readable
 * lines for a terminal. Pretty lines are formatted in the process that logs, synchronously: no
 * worker thread per process, and nothing lost when the process exits right after a line.
 */
export function createLogger(config: LoggerConfig): PinoLogger {
  const redact = [...REDACTED_PATHS];
  if (config.format === "json") {
    const base =
      config.worker === undefined
        ? { service: "quicksilver" }
        : { service: "quicksilver", worker: config.worker };
    return pino({ level: config.level, base, redact });
  }
  // A worker's lines start with its name rather than end with a field a reader would look for.
  const msgPrefix = config.worker === undefined ? "" : `worker ${config.worker}: `;
  return pino(
    { level: config.level, base: {}, redact, msgPrefix },
    pretty({ sync: true, singleLine: true, translateTime: "SYS:HH:MM:ss.l" }),
  );
}
