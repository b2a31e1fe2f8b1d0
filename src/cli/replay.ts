import { SingleBar, Presets } from 'cli-progress';
import { databaseOptions, loadConfigOrExit, type Config } from '../config';
import { projections } from '../modules/projections';
import { createSequelize } from '../platform/db/sequelize';
import { createDocumentStore } from '../platform/documents';
import { replayProjection } from '../platform/events/projection';
import { createLogger } from '../platform/logger';

/**
 * `make replay PROJECTION=activity-log`: rebuilds one read model from the event store, from
 * position 0, into a fresh collection that then replaces the live one. Safe while events arrive.
 */
export async function replay(name: string | undefined, config: Config, progress = true): Promise<string> {
  const projection = projections.find((p) => p.name === name);
  if (!projection) throw new Error(`usage: replay <projection>; known: ${projections.map((p) => p.name).join(', ')}`);
  const log = createLogger('warn', 'replay');
  const sequelize = createSequelize(databaseOptions(config), log);
  const store = await createDocumentStore({ databaseUrl: config.DATABASE_URL, mongodbUrl: config.MONGODB_URL, log });
  const bar = new SingleBar({ format: `${projection.name} [{bar}] {percentage}% | position {value}/{total}`, hideCursor: true }, Presets.shades_classic);
  let started = false;
  try {
    const { applied, head } = await replayProjection(projection, store, sequelize, (done, total) => {
      if (!progress) return;
      if (!started) bar.start(total, 0);
      started = true;
      bar.update(Math.min(done, total));
    });
    return `rebuilt ${projection.name} (${store.kind}): ${applied} event(s) applied up to position ${head} and after`;
  } finally {
    if (started) bar.stop();
    await store.close();
    await sequelize.close();
  }
}

if (require.main === module) {
  replay(process.argv[2], loadConfigOrExit()).then(
    (summary) => process.stdout.write(`${summary}\n`),
    (err) => {
      process.stderr.write(`replay failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
