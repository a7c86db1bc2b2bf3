import type { Grants } from "../auth/grants.ts";
import { type Logger, type LogLine, lineWriter, type RequestLogLevel } from "../hub/logger.ts";
import type { Update } from "../hub/update.ts";
import type { ProblemCode } from "../protocol/problems.ts";
import { type HttpRequest, pathOf } from "./exchange.ts";
import { requestIdOf } from "./request-id.ts";

/**
 * The line logged for each publish and each refused request, at the request log level (a stream's
 * lines are the hub's: it alone knows why a stream closed). What a line may hold is decided here:
 * counts and sizes, never the update's data, a token, a cookie or a query string (which may carry
 * the legacy `authorization` parameter).
 */
export class RequestLog {
  readonly #line: LogLine | undefined;

  constructor(logger: Logger, level: RequestLogLevel) {
    this.#line = lineWriter(logger, level);
  }

  /** An update was stored and answered 200; `startedAt` is `performance.now()` when it arrived. */
  published(req: HttpRequest, update: Update, grants: Grants, startedAt: number): void {
    this.#line?.(
      {
        requestId: requestIdOf(req),
        update: update.id,
        topics: update.topics.length,
        private: update.private,
        bytes: Buffer.byteLength(update.data),
        sub: grants.subject,
        status: 200,
        durationMs: Math.round((performance.now() - startedAt) * 1000) / 1000,
      },
      "update published",
    );
  }

  /** A request answered with a problem (docs/errors.md). */
  refused(req: HttpRequest, code: ProblemCode, status: number): void {
    this.#line?.(
      { requestId: requestIdOf(req), method: req.method, path: pathOf(req), code, status },
      "request refused",
    );
  }
}
