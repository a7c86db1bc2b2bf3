import type { HttpResponse } from "../http/exchange.ts";
import { sendProblem, writeHead } from "../http/respond.ts";
import type { Logger } from "../hub/logger.ts";

/** Where the Prometheus text is read from: a registry of this process, or the workers' aggregated. */
export interface MetricsSource {
  /** The exposition's content type (Prometheus text, version 0.0.4). */
  readonly contentType: string;
  read(): Promise<string>;
}

/** Answers `GET /metrics`: the Prometheus text, never cached; a failure to gather it is a 500. */
export function metricsEndpoint(source: MetricsSource, logger: Logger): (res: HttpResponse) => void {
  return (res) => {
    source.read().then(
      (text) => {
        const body = Buffer.from(text);
        writeHead(res, 200, {
          "Content-Type": source.contentType,
          "Content-Length": body.length,
          "Cache-Control": "no-store",
        });
        res.end(body);
      },
      (error: unknown) => {
        logger.error({ err: error }, "the metrics could not be gathered");
        sendProblem(res, "internal_error", "the metrics could not be gathered");
      },
    );
  };
}
