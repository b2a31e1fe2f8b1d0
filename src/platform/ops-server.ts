import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * The worker's own small ops server (it serves no API): `GET /metrics` for Prometheus and
 * `GET /health/live` for the container healthcheck. Plain node:http; nothing else is routed.
 */
export async function startOpsServer(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET') return void res.writeHead(405, { Allow: 'GET' }).end();
    if (req.url === '/health/live') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok","checks":{}}');
    if (req.url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
