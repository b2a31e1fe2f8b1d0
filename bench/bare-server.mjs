// Baselines for `make bench`: the same bytes and headers the API serves for the category tree.
// BENCH_SERVER=node: plain node:http. BENCH_SERVER=express: Express with one route and no
// middleware (the floor the framework itself sets).
import { createServer } from 'node:http';
import express from 'express';

const body = Buffer.from(process.env.BENCH_BODY_B64 ?? '', 'base64');
const headers = { 'Content-Type': 'application/json; charset=utf-8', ETag: process.env.BENCH_ETAG ?? '"x"' };

let server;
if (process.env.BENCH_SERVER === 'express') {
  const app = express();
  app.set('etag', false);
  app.get('/v1/products/categories', (_req, res) => void res.set(headers).send(body));
  app.get('/health/live', (_req, res) => void res.json({ status: 'ok' }));
  server = app.listen(Number(process.env.PORT), '127.0.0.1');
} else {
  server = createServer((_req, res) => {
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    res.end(body);
  }).listen(Number(process.env.PORT), '127.0.0.1');
}
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
