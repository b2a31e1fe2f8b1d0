/**
 * A dependency the readiness check pings (PostgreSQL, Redis, RabbitMQ, the outbox). A check
 * that resolves to `{ degraded }` is up but behind: the instance still serves, and says so.
 */
export interface HealthCheck {
  name: string;
  check: () => Promise<void | { degraded: string }>;
}

type CheckStatus = 'up' | 'degraded' | 'down';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'unavailable';
  checks: Record<string, { status: CheckStatus; latency_ms: number; detail?: string }>;
}

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/** Runs every check in parallel, each bounded by the timeout, and says which are down or degraded. */
export async function checkHealth(checks: HealthCheck[], timeoutMs = 1000): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      const started = Date.now();
      try {
        const outcome = await withTimeout(check(), timeoutMs);
        const latency_ms = Date.now() - started;
        if (outcome && 'degraded' in outcome) return [name, { status: 'degraded' as CheckStatus, latency_ms, detail: outcome.degraded }] as const;
        return [name, { status: 'up' as CheckStatus, latency_ms }] as const;
      } catch (err) {
        // Only a short, fixed reason: driver messages may name hosts or users.
        const detail = err instanceof Error && err.message === 'timed out' ? 'timed out' : 'unreachable';
        return [name, { status: 'down' as CheckStatus, latency_ms: Date.now() - started, detail }] as const;
      }
    }),
  );
  const statuses = results.map(([, r]) => r.status);
  const status = statuses.includes('down') ? 'unavailable' : statuses.includes('degraded') ? 'degraded' : 'ok';
  return { status, checks: Object.fromEntries(results) };
}
