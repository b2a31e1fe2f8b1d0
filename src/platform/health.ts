/** A dependency the readiness check pings, e.g. PostgreSQL, Redis, RabbitMQ. */
export interface HealthCheck {
  name: string;
  check: () => Promise<void>;
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, { status: 'up' | 'down'; latency_ms: number; detail?: string }>;
}

const withTimeout = (p: Promise<void>, ms: number) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });

/** Runs every check in parallel, each bounded by the timeout, and says which are down. */
export async function checkHealth(checks: HealthCheck[], timeoutMs = 1000): Promise<HealthReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      const started = Date.now();
      try {
        await withTimeout(check(), timeoutMs);
        return [name, { status: 'up' as const, latency_ms: Date.now() - started }] as const;
      } catch (err) {
        // Only a short, fixed reason: driver messages may name hosts or users.
        const detail = err instanceof Error && err.message === 'timed out' ? 'timed out' : 'unreachable';
        return [name, { status: 'down' as const, latency_ms: Date.now() - started, detail }] as const;
      }
    }),
  );
  const report = Object.fromEntries(results);
  return { status: results.every(([, r]) => r.status === 'up') ? 'ok' : 'unavailable', checks: report };
}
