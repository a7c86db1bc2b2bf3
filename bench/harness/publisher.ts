/**
 * The coordinator's publisher: keeps `inflight` publishes going over keep-alive connections and
 * times each one. Every event's data starts with `t=<epoch ms>;`, the publish time the probes
 * subtract from their own clock (same machine, same clock).
 */
import { Agent, request } from "node:http";
import { pace } from "../../src/loadtest/pace.ts";
import { stampedData } from "../../src/loadtest/stamps.ts";
import type { Target } from "./target.ts";

export interface PublishRun {
  readonly published: number;
  readonly failed: number;
  /** Time from request to response of each publish (ms). */
  readonly latencies: number[];
}

export class Publisher {
  readonly #target: Target;
  readonly #agent: Agent;

  constructor(target: Target, inflight: number) {
    this.#target = target;
    this.#agent = new Agent({ keepAlive: true, maxSockets: inflight });
  }

  /** Publishes `count` events of `bytes` bytes to `topic`, `inflight` at a time. */
  async publish(topic: string, count: number, bytes: number, inflight: number): Promise<PublishRun> {
    let next = 0;
    let failed = 0;
    const latencies: number[] = [];
    const lane = async () => {
      while (next < count) {
        next++;
        const started = performance.now();
        const ok = await this.#one(topic, stampedData(bytes));
        latencies.push(performance.now() - started);
        if (!ok) failed++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(inflight, count) }, lane));
    return { published: count - failed, failed, latencies };
  }

  /**
   * Publishes `count` events at `perSecond`, on schedule: each leaves at its due time whether or
   * not the previous ones were answered (a late hub must not slow the load down and hide its
   * own latency). `topicOf(i)` names the topic of the i-th.
   */
  async paced(
    topicOf: (i: number) => string,
    count: number,
    perSecond: number,
    bytes: number,
  ): Promise<PublishRun> {
    const latencies: number[] = [];
    let failed = 0;
    await pace(count, perSecond, async (i) => {
      const sent = performance.now();
      const ok = await this.#one(topicOf(i), stampedData(bytes));
      latencies.push(performance.now() - sent);
      if (!ok) failed++;
    });
    return { published: count - failed, failed, latencies };
  }

  close(): void {
    this.#agent.destroy();
  }

  async #one(topic: string, payload: string): Promise<boolean> {
    const status = await this.send(topic, payload);
    return status >= 200 && status < 300;
  }

  /** Publishes `payload` as is to `topic`; resolves with the response's status, 0 if none came. */
  send(topic: string, payload: string): Promise<number> {
    const { path, headers, body } = this.#target.publishRequest(topic, payload);
    return new Promise((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: this.#target.port,
          method: "POST",
          path,
          agent: this.#agent,
          headers: { ...headers, "Content-Length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", () => resolve(0));
      req.end(body);
    });
  }
}
