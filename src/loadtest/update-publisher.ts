/**
 * A load test's publisher: POSTs updates to the hub URL as any Mercure publisher does (a form
 * body with `topic` and `data`, the user's token as a Bearer header), over a few keep-alive
 * connections, and says how each was answered.
 */
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { MAX_PUBLISH_CONNECTIONS, PUBLISH_TIMEOUT_MS } from "./limits.ts";

/** How one publish ended: the hub's status, or why there was none. */
export type PublishOutcome = { readonly status: number } | { readonly error: string };

/** Publishes to one hub, with one token. */
export class UpdatePublisher {
  readonly #hub: URL;
  readonly #token: string | undefined;
  readonly #agent: HttpAgent;

  constructor(hub: URL, token: string | undefined) {
    this.#hub = hub;
    this.#token = token;
    const options = { keepAlive: true, maxSockets: MAX_PUBLISH_CONNECTIONS };
    this.#agent = hub.protocol === "https:" ? new HttpsAgent(options) : new HttpAgent(options);
  }

  /** Publishes `data` to `topic`; never rejects. */
  send(topic: string, data: string): Promise<PublishOutcome> {
    const body = new URLSearchParams({ topic, data }).toString();
    const request = this.#hub.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const req = request(
        this.#hub,
        {
          method: "POST",
          agent: this.#agent,
          timeout: PUBLISH_TIMEOUT_MS,
          headers: {
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": Buffer.byteLength(body),
            ...(this.#token === undefined ? {} : { Authorization: `Bearer ${this.#token}` }),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
          res.on("error", (error) => resolve({ error: error.message }));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`no answer within ${PUBLISH_TIMEOUT_MS / 1000} s`)));
      req.on("error", (error) => resolve({ error: describe(error) }));
      req.end(body);
    });
  }

  /** Closes the keep-alive connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/** A network error's message, with its code when Node gives one (ECONNREFUSED says it best). */
function describe(error: Error & { code?: string }): string {
  return error.code !== undefined && !error.message.includes(error.code)
    ? `${error.code}: ${error.message}`
    : error.message;
}
