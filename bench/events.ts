import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { databaseOptions, loadConfigOrExit } from '../src/config';
import { RabbitConnection } from '../src/platform/bus/rabbitmq';
import { createSequelize } from '../src/platform/db/sequelize';
import { appendEvents } from '../src/platform/events/event-store';
import { dlqFor, queueFor } from '../src/platform/events/topology';
import { createLogger } from '../src/platform/logger';

// `make bench-events`: events appended by concurrent writers (several events per transaction,
// as use cases do), published by the relay and handled by one subscriber running in another
// process; throughput from the first append to the last handled event, and latency from the
// event's insert to its inbox row, at a target rate (BENCH_RATE, default 2,000 events/s) and at
// saturation (BENCH_RATE=0). Results: docs/performance.md.

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 4);
const PER_TX = Number(process.env.BENCH_EVENTS_PER_TX ?? 5);
/** Target append rate in events/s; 0 appends as fast as the writers can (saturation). */
const RATE = Number(process.env.BENCH_RATE ?? 2000);

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger('warn', 'bench');
  const sequelize = createSequelize({ ...databaseOptions(config), poolMax: WRITERS }, log);
  const id = randomUUID().slice(0, 8);
  const subscriber = `bench-${id}`;
  const type = `bench_${id}.happened`;

  const worker = spawn(process.execPath, ['--import', 'tsx', 'bench/events-worker.ts', subscriber, type], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    worker.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    worker.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });

  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < EVENTS) {
        const n = Math.min(PER_TX, EVENTS - next);
        const due = started + (next / RATE) * 1000;
        next += n;
        if (RATE > 0 && due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        await sequelize.transaction((t) =>
          appendEvents(sequelize, t, { type: 'bench', id: `agg_${randomUUID()}` }, Array.from({ length: n }, (_, i) => ({ type, payload: { i } })), {}),
        );
      }
    }),
  );
  const appendedIn = (Date.now() - started) / 1000;
  const handled = async () => {
    const [row] = await sequelize.query<{ n: string }>('SELECT count(*) AS n FROM inbox WHERE subscriber = $1', { bind: [subscriber], type: QueryTypes.SELECT });
    return Number(row!.n);
  };
  while ((await handled()) < EVENTS) await new Promise((r) => setTimeout(r, 100));
  const [stats] = await sequelize.query<{ p50: number; p95: number; p99: number; span: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, extract(epoch FROM max(last) - min(first)) AS span
       FROM (SELECT extract(epoch FROM i.handled_at - e.occurred_at) * 1000 AS ms, e.occurred_at AS first, i.handled_at AS last
               FROM inbox i JOIN events e ON e.id = i.event_id WHERE i.subscriber = $1) x`,
    { bind: [subscriber], type: QueryTypes.SELECT },
  );
  const total = (Date.now() - started) / 1000;
  console.log(`${EVENTS} events, ${WRITERS} writers, ${PER_TX} events per transaction, target rate ${RATE > 0 ? `${RATE} events/s` : 'unlimited'}`);
  console.log(`appended in ${appendedIn.toFixed(1)} s (${(EVENTS / appendedIn).toFixed(0)} events/s)`);
  console.log(`appended and delivered in ${total.toFixed(1)} s: ${(EVENTS / total).toFixed(0)} events/s end to end`);
  console.log(`latency insert → handled: p50 ${stats!.p50.toFixed(0)} ms, p95 ${stats!.p95.toFixed(0)} ms, p99 ${stats!.p99.toFixed(0)} ms (aim: ≥ 2,000 events/s, p95 < 100 ms)`);

  worker.kill('SIGTERM');
  await new Promise((r) => worker.once('exit', r));
  const rabbit = new RabbitConnection(config.RABBITMQ_URL, log);
  await rabbit.start();
  await rabbit.adminChannel?.deleteQueue(queueFor(subscriber)).catch(() => undefined);
  await rabbit.adminChannel?.deleteQueue(dlqFor(subscriber)).catch(() => undefined);
  await rabbit.stop();
  await sequelize.query('DELETE FROM inbox WHERE subscriber = $1', { bind: [subscriber] });
  await sequelize.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
