import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per app (tests start several apps in one process; each gets its own). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Duration of HTTP requests in seconds, by operation and status',
    labelNames: ['operation_id', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // Label sets are few (operations × statuses); reuse each child instead of hashing labels per request.
  const children = new Map<string, ReturnType<typeof httpDuration.labels>>();
  return {
    registry,
    observeRequest(operationId: string, method: string, status: number, seconds: number): void {
      const key = `${operationId} ${method} ${status}`;
      let child = children.get(key);
      if (!child) children.set(key, (child = httpDuration.labels(operationId, method, String(status))));
      child.observe(seconds);
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
