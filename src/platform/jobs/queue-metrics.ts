import type { Queue } from 'bull';
import { Gauge, type Registry } from 'prom-client';
import { settleWithin } from './settle-within';

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/**
 * `bull_queue_jobs{queue, state}`, read from Redis on each scrape (one MULTI per queue), so the
 * numbers are the same whichever process is scraped. A queue that does not answer within
 * `timeoutMs` is left out of that scrape rather than reported with stale numbers.
 */
export function registerQueueMetrics(registry: Registry, queues: () => Queue[], timeoutMs = 1_000): Gauge<'queue' | 'state'> {
  const gauge: Gauge<'queue' | 'state'> = new Gauge({
    name: 'bull_queue_jobs',
    help: 'Jobs in each Bull queue by state (waiting includes a paused queue), read on scrape',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    collect: async () => {
      const counted = await Promise.all(queues().map(async (q) => [q.name, await settleWithin(q.getJobCounts(), timeoutMs)] as const));
      gauge.reset();
      for (const [queue, counts] of counted) {
        if (!counts) continue;
        // Without an argument Bull also counts `paused` (not in its types): jobs waiting in a paused queue.
        const paused = (counts as { paused?: number }).paused ?? 0;
        const values = { ...counts, waiting: counts.waiting + paused };
        for (const state of STATES) gauge.set({ queue, state }, values[state]);
      }
    },
  });
  return gauge;
}
