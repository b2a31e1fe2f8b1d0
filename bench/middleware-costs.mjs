// `make bench-layers`: what each cross-cutting middleware costs on its own. Express serves the
// category tree's size in bytes with one middleware at a time (then all together) and autocannon
// measures req/s, so a change to the chain can be weighed against docs/performance.md.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';

const require = createRequire(import.meta.url);
const DURATION = Number(process.env.BENCH_DURATION ?? 4);
const PORT = 3414;

if (process.env.LAYERS !== undefined) {
  const express = require('express');
  const layers = process.env.LAYERS.split(',');
  const app = express();
  app.set('etag', false);
  const { requestId } = require('../dist/platform/http/request-id');
  const { accessLog } = require('../dist/platform/http/access-log');
  const { createMetrics } = require('../dist/platform/http/metrics');
  const { createLogger } = require('../dist/platform/logger');
  if (layers.includes('request-id')) app.use(requestId);
  if (layers.includes('access-log')) app.use((req, res, next) => ((res.locals.requestId ??= 'req_x'), next()), accessLog(createLogger('info', 'bench'), createMetrics()));
  if (layers.includes('helmet')) app.use(require('helmet')());
  if (layers.includes('cors')) app.use(require('cors')({ origin: ['http://localhost:3000'] }));
  if (layers.includes('json')) app.use(express.json());
  const body = Buffer.alloc(23712, 97);
  app.get('/x', (_req, res) => void res.type('application/json').send(body));
  app.listen(PORT, '127.0.0.1');
} else {
  const variants = ['', 'request-id', 'access-log', 'helmet', 'cors', 'json', 'request-id,access-log,helmet,cors,json'];
  for (const layers of variants) {
    const child = spawn(process.execPath, [new URL(import.meta.url).pathname], { env: { ...process.env, LAYERS: layers }, stdio: ['ignore', 'ignore', 'inherit'] });
    await new Promise((r) => setTimeout(r, 1000));
    const result = await autocannon({ url: `http://127.0.0.1:${PORT}/x`, connections: 50, duration: DURATION });
    console.log(`${(layers || '(none)').padEnd(40)} ${(result.requests.total / DURATION).toFixed(0).padStart(7)} req/s  p99 ${result.latency.p99} ms`);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}
