import { QueryTypes } from 'sequelize';
import { databaseOptions, loadConfigOrExit, type Config } from '../config';
import { createSequelize } from '../platform/db/sequelize';
import { createDocumentStore } from '../platform/documents';
import { createLogger } from '../platform/logger';
import { connectRedis } from '../platform/redis';
import { seedDemoListings } from '../modules/products/demo-listings';
import { personalDataCipher } from '../modules/users';
import { createUserRepository } from '../modules/users/data/user-repository';
import { DEMO_ACCOUNTS, seedDemoAccounts } from '../modules/users/demo-accounts';

/**
 * Demo data for `make start`. Reference data (the category tree, the dongs) comes with the
 * migrations; each component adds its demo seeder here as it lands. Seeders are idempotent.
 */
export async function seed(config: Config): Promise<string> {
  if (config.NODE_ENV === 'production') throw new Error('refusing to seed demo data in production');
  const log = createLogger('warn', 'seed');
  const sequelize = createSequelize(databaseOptions(config), log);
  const redis = await connectRedis(config.REDIS_URL);
  const store = await createDocumentStore({ databaseUrl: config.DATABASE_URL, mongodbUrl: config.MONGODB_URL, log });
  try {
    const [counts] = await sequelize.query<{ total: string; top: string }>(
      'SELECT count(*) AS total, count(*) FILTER (WHERE depth = 0) AS top FROM categories',
      { type: QueryTypes.SELECT },
    );
    if (!counts || Number(counts.top) === 0) throw new Error('the category tree is empty: run `make migrate` first');
    const created = await seedDemoAccounts(sequelize, config);
    const users = createUserRepository(sequelize, personalDataCipher(config));
    const listings = await seedDemoListings({ sequelize, redis, store, log, userIdOf: async (email) => (await users.findByEmail(email))?.id ?? null });
    const accounts = DEMO_ACCOUNTS.map((a) => `${a.email} / ${a.password}${a.roles.includes('admin') ? ' (admin)' : ''}`).join(', ');
    return `demo data ready: ${counts.top} top-level categories, ${counts.total} in all; demo accounts (${created} new): ${accounts}; demo listings (${listings} new)`;
  } finally {
    await store.close();
    redis.disconnect();
    await sequelize.close();
  }
}

if (require.main === module) {
  seed(loadConfigOrExit()).then(
    (summary) => process.stdout.write(`${summary}\n`),
    (err) => {
      process.stderr.write(`seed failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
