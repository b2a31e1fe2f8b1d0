import { QueryTypes } from 'sequelize';
import { databaseOptions, loadConfigOrExit, type Config } from '../config';
import { createSequelize } from '../platform/db/sequelize';
import { createLogger } from '../platform/logger';
import { DEMO_ACCOUNTS, seedDemoAccounts } from '../modules/users/demo-accounts';

/**
 * Demo data for `make start`. Reference data (the category tree, the dongs) comes with the
 * migrations; each component adds its demo seeder here as it lands. Seeders are idempotent.
 */
export async function seed(config: Config): Promise<string> {
  if (config.NODE_ENV === 'production') throw new Error('refusing to seed demo data in production');
  const sequelize = createSequelize(databaseOptions(config), createLogger('warn', 'seed'));
  try {
    const [counts] = await sequelize.query<{ total: string; top: string }>(
      'SELECT count(*) AS total, count(*) FILTER (WHERE depth = 0) AS top FROM categories',
      { type: QueryTypes.SELECT },
    );
    if (!counts || Number(counts.top) === 0) throw new Error('the category tree is empty: run `make migrate` first');
    const created = await seedDemoAccounts(sequelize, config);
    const accounts = DEMO_ACCOUNTS.map((a) => `${a.email} / ${a.password}${a.roles.includes('admin') ? ' (admin)' : ''}`).join(', ');
    return `demo data ready: ${counts.top} top-level categories, ${counts.total} in all; demo accounts (${created} new): ${accounts}`;
  } finally {
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
