import { QueryTypes } from 'sequelize';
import { databaseOptions, loadConfigOrExit } from '../config';
import { createSequelize } from '../platform/db/sequelize';
import { createLogger } from '../platform/logger';

/**
 * Demo data for `make start`. Reference data (the category tree) comes with the migrations;
 * each component adds its demo seeder here as it lands. Seeders are idempotent.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  if (config.NODE_ENV === 'production') throw new Error('refusing to seed demo data in production');
  const log = createLogger('warn', 'seed');
  const sequelize = createSequelize(databaseOptions(config), log);
  try {
    const [counts] = await sequelize.query<{ total: string; top: string }>(
      'SELECT count(*) AS total, count(*) FILTER (WHERE depth = 0) AS top FROM categories',
      { type: QueryTypes.SELECT },
    );
    if (!counts || Number(counts.top) === 0) throw new Error('the category tree is empty: run `make migrate` first');
    process.stdout.write(`demo data ready: ${counts.top} top-level categories, ${counts.total} in all\n`);
  } finally {
    await sequelize.close();
  }
}

main().catch((err) => {
  process.stderr.write(`seed failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
