/** The slice of a pino logger the hub uses; pino satisfies it, and so does `silentLogger`. */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  /** pino's: whether lines at `level` go anywhere. A logger without it is taken to write them all. */
  isLevelEnabled?(level: string): boolean;
}

const ignore = () => {};
export const silentLogger: Logger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  isLevelEnabled: () => false,
};

/**
 * The level of the lines logged for each request and stream (a publish, a refusal, a stream
 * opened or closed), or `off`: an operator who wants them can have them at `info` while a busy hub
 * keeps its logs for what goes wrong.
 */
export type RequestLogLevel = "debug" | "info" | "warn" | "off";

export const REQUEST_LOG_LEVELS: readonly RequestLogLevel[] = ["debug", "info", "warn", "off"];

export type LogLine = (fields: object, message: string) => void;

/**
 * What writes the lines logged at `level`, or undefined when they would go nowhere (`off`, or a
 * level the logger drops): decided once, so that a hub whose request lines are off does not even
 * build their fields on the hot path.
 */
export function lineWriter(logger: Logger, level: RequestLogLevel): LogLine | undefined {
  if (level === "off" || logger.isLevelEnabled?.(level) === false) return undefined;
  return (fields, message) => logger[level](fields, message);
}
