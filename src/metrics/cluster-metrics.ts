import { AggregatorRegistry, type Registry } from "prom-client";
import type { MetricsSource } from "./metrics-endpoint.ts";

/**
 * `serve --workers N`: each worker collects its own metrics; the primary serves the admin
 * listener and, at each scrape, asks every worker for its registry over the cluster's IPC channel
 * and sums them (prom-client's AggregatorRegistry: counters, gauges and histograms add up; the
 * process metrics are each worker's, aggregated as prom-client says).
 */

/** In a worker: answers the primary's requests with this worker's registry. */
export function shareWithPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Its constructor adds the worker's listener to the primary's requests (once per process).
  new AggregatorRegistry();
}

/** In the primary: every worker's metrics, aggregated at each read. */
export function workersMetrics(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return { contentType: aggregator.contentType, read: () => aggregator.clusterMetrics() };
}
