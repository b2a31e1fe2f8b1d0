import type Redis from 'ioredis';
import { Client } from 'pg';
import { loadConfigOrExit } from '../config';
import { createMigrator } from '../platform/db/migrator';
import { createSequelize, ensureDatabase } from '../platform/db/sequelize';
import { createLogger } from '../platform/logger';
import { closeRedis, connectRedis } from '../platform/redis';

// Any number of processes may run this at once (several containers starting): an advisory lock
// makes them take turns, and the later ones find nothing left to do.
const MIGRATION_LOCK = 7_316_001;

/** Cache keys are `{cache:...}` (see CachedJson); SCAN, not KEYS, so a large Redis is not blocked. */
async function dropCaches(redis: Redis): Promise<void> {
  for await (const keys of redis.scanStream({ match: '{cache:*', count: 500 }) as AsyncIterable<string[]>) {
    if (keys.length) await redis.del(...keys);
  }
}

/** Creates the database if missing (UTF-8), applies pending migrations, then drops cached read data. */
export async function migrate(databaseUrl: string, redisUrl: string | null, logLevel = 'info'): Promise<string[]> {
  const log = createLogger(logLevel, 'migrate');
  if (await ensureDatabase(databaseUrl)) log.info('database created');
  const lock = new Client({ connectionString: databaseUrl });
  await lock.connect();
  const sequelize = createSequelize({ url: databaseUrl, poolMax: 2 }, log);
  try {
    // Polled, not waited for: a session waiting inside pg_advisory_lock holds a snapshot, and a
    // migration that builds an index CONCURRENTLY (0026) waits for every older snapshot, while
    // the lock it would need is held by the process waiting for that build: neither would ever end.
    while (!(await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [MIGRATION_LOCK])).rows[0]!.ok) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const applied = await createMigrator(sequelize, log).up();
    if (applied.length && redisUrl) {
      // Cached documents may describe rows the migrations changed.
      const redis = await connectRedis(redisUrl).catch(() => null);
      if (redis) {
        await dropCaches(redis).catch((err) => log.warn({ err }, 'could not drop caches'));
        await closeRedis(redis);
      }
    }
    return applied.map((m) => m.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await lock.end();
    await sequelize.close();
  }
}

if (require.main === module) {
  const config = loadConfigOrExit();
  migrate(config.DATABASE_URL, config.REDIS_URL, config.LOG_LEVEL).then(
    (names) => {
      process.stdout.write(names.length ? `applied ${names.length} migration(s): ${names.join(', ')}\n` : 'database is up to date\n');
    },
    (err) => {
      process.stderr.write(`migration failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
