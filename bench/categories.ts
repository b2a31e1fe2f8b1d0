import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import autocannon from 'autocannon';

// `make bench`: GET /v1/products/categories through the full middleware chain (the compiled
// build, production settings) vs a bare node:http server serving the same cached bytes, and
// Express with no middleware as the framework's own floor; same run, interleaved rounds. Each
// server is its own process; this process is the load generator. Results: docs/performance.md.

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const API_LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';

interface Stats {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  non2xx: number;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

async function startServer(script: string, env: Record<string, string>): Promise<{ child: ChildProcess; base: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
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

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function load(url: string): Promise<Stats> {
  const latencies: number[] = [];
  const instance = autocannon({ url, connections: CONNECTIONS, duration: DURATION }) as unknown as autocannon.Instance & Promise<autocannon.Result>;
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
  const result = await instance;
  latencies.sort((a, b) => a - b);
  return {
    rps: result.requests.total / DURATION,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summarise = (xs: Stats[]): Stats => ({
  rps: median(xs.map((x) => x.rps)),
  p50: median(xs.map((x) => x.p50)),
  p95: median(xs.map((x) => x.p95)),
  p99: median(xs.map((x) => x.p99)),
  errors: xs.reduce((n, x) => n + x.errors, 0),
  non2xx: xs.reduce((n, x) => n + x.non2xx, 0),
});
const fmt = (s: Stats) =>
  `${s.rps.toFixed(0).padStart(7)} req/s  p50 ${s.p50.toFixed(1).padStart(5)} ms  p95 ${s.p95.toFixed(1).padStart(5)} ms  p99 ${s.p99.toFixed(1).padStart(5)} ms  errors ${s.errors}  non-2xx ${s.non2xx}`;

async function main(): Promise<void> {
  const api = await startServer('dist/server.js', {
    // Production settings (no response validation); the rate limiter stays in the chain with a
    // budget the benchmark cannot exhaust.
    NODE_ENV: 'production',
    JWT_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef',
    LOG_LEVEL: API_LOG_LEVEL,
    RATE_LIMIT_MAX: '1000000',
  });
  const children = [api.child];
  try {
    const apiUrl = `${api.base}/v1/products/categories`;
    const warm = await fetch(apiUrl);
    if (warm.status !== 200) throw new Error(`API answered ${warm.status}`);
    const body = Buffer.from(await warm.arrayBuffer());
    const baseline = { BENCH_BODY_B64: body.toString('base64'), BENCH_ETAG: warm.headers.get('etag') ?? '' };
    const bare = await startServer('bench/bare-server.mjs', { ...baseline, BENCH_SERVER: 'node' });
    const floor = await startServer('bench/bare-server.mjs', { ...baseline, BENCH_SERVER: 'express' });
    children.push(bare.child, floor.child);

    console.log(`GET /v1/products/categories: ${body.length} bytes, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${DURATION} s, API log level ${API_LOG_LEVEL}`);
    const targets = [
      { name: 'bare node:http ', url: `${bare.base}/`, runs: [] as Stats[] },
      { name: 'bare Express   ', url: `${floor.base}/v1/products/categories`, runs: [] as Stats[] },
      { name: 'junggo API     ', url: apiUrl, runs: [] as Stats[] },
    ];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of targets) {
        t.runs.push(await load(t.url));
        console.log(`round ${round}  ${t.name} ${fmt(t.runs.at(-1)!)}`);
      }
    }
    const [b, e, a] = targets.map((t) => summarise(t.runs)) as [Stats, Stats, Stats];
    console.log('');
    targets.forEach((t, i) => console.log(`median  ${t.name} ${fmt([b, e, a][i]!)}`));
    console.log(`ratio API / bare node:http: ${(a.rps / b.rps).toFixed(2)} (aim: at least 0.50); API / bare Express: ${(a.rps / e.rps).toFixed(2)}`);
  } finally {
    for (const child of children) child.kill('SIGTERM');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
