// `make bench` with BENCH_API_PROCESSES=N: N copies of the compiled API on one port, standing in
// for N replicas behind a load balancer (docker-compose runs the API as replicas behind nginx).
// node:cluster hands each accepted connection to a copy in turn; the connections are kept alive,
// so this costs the primary nothing per request. Each copy is the unchanged production server.
import cluster from 'node:cluster';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

if (cluster.isPrimary) {
  const copies = Number(process.env.BENCH_API_PROCESSES ?? 2);
  for (let i = 0; i < copies; i++) cluster.fork();
  // A copy that dies ends the run: the bench must not measure fewer copies than it reports.
  cluster.on('exit', (_worker, code) => {
    if (!stopping) process.exit(code ?? 1);
  });
  let stopping = false;
  process.on('SIGTERM', () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 5_000).unref();
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  });
} else {
  const { startApi } = require('../dist/server.js');
  const { loadConfigOrExit } = require('../dist/config.js');
  const { runProcess } = require('../dist/runtime.js');
  const { createLogger } = require('../dist/platform/logger.js');
  const config = loadConfigOrExit();
  const log = createLogger(config.LOG_LEVEL, 'api');
  runProcess(log, () => startApi(config, log), config.SHUTDOWN_TIMEOUT_MS);
}
