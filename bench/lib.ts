import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import autocannon from 'autocannon';

// What the `make bench` scenarios share: servers as child processes, autocannon runs with exact
// percentiles, medians over interleaved rounds.

export const DURATION = Number(process.env.BENCH_DURATION ?? 10);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

export interface Stats {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  non2xx: number;
}

export const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** Starts a server script on a free port (given in `portVariable`) and waits for its /health/live. */
/** `nodeArgs`: for Node itself, before the script (e.g. `--cpu-prof`; cluster copies inherit them). */
export async function startServer(script: string, env: Record<string, string>, portVariable = 'PORT', nodeArgs: string[] = []): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, ...env, [portVariable]: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`);
    const up = await fetch(`${base}/health/live`).then((r) => r.status < 500, () => false);
    if (up) return { child, base };
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${script} did not start`);
}

export const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

export async function load(opts: autocannon.Options): Promise<Stats> {
  const latencies: number[] = [];
  const duration = Number(opts.duration ?? DURATION);
  const instance = autocannon({ connections: CONNECTIONS, duration: DURATION, ...opts }) as unknown as autocannon.Instance & Promise<autocannon.Result>;
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
  const result = await instance;
  latencies.sort((a, b) => a - b);
  return {
    rps: result.requests.total / duration,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const summarise = (xs: Stats[]): Stats => ({
  rps: median(xs.map((x) => x.rps)),
  p50: median(xs.map((x) => x.p50)),
  p95: median(xs.map((x) => x.p95)),
  p99: median(xs.map((x) => x.p99)),
  errors: xs.reduce((n, x) => n + x.errors, 0),
  non2xx: xs.reduce((n, x) => n + x.non2xx, 0),
});
export const fmt = (s: Stats) =>
  `${s.rps.toFixed(0).padStart(7)} req/s  p50 ${s.p50.toFixed(1).padStart(5)} ms  p95 ${s.p95.toFixed(1).padStart(5)} ms  p99 ${s.p99.toFixed(1).padStart(5)} ms  errors ${s.errors}  non-2xx ${s.non2xx}`;

