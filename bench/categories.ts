import { randomBytes } from 'node:crypto';
import { CONNECTIONS, DURATION, fmt, load, ROUNDS, startServer, summarise, type Stats } from './lib';

// `make bench`: GET /v1/products/categories through the full middleware chain (the compiled
// build, production settings) vs a bare node:http server serving the same cached bytes, and
// Express with no middleware as the framework's own floor; same run, interleaved rounds. Each
// server is its own process; this process is the load generator. Results: docs/performance.md.

const API_LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';

async function main(): Promise<void> {
  const api = await startServer('dist/server.js', {
    // Production settings (no response validation); the rate limiter stays in the chain with a
    // budget the benchmark cannot exhaust.
    NODE_ENV: 'production',
    PUBLIC_BASE_URL: 'http://127.0.0.1',
    JWT_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef',
    // Production refuses to start with the development keys.
    FIELD_ENCRYPTION_KEYS: `bench1:${randomBytes(32).toString('base64')}`,
    BLIND_INDEX_KEY: randomBytes(32).toString('base64'),
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
        t.runs.push(await load({ url: t.url }));
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
