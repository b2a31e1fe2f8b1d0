import { QueryTypes, type Sequelize } from 'sequelize';

/**
 * Builds an index CONCURRENTLY (writers keep going) so that its migration can run again after
 * failing part-way: an invalid index of this name, left by an interrupted build, is dropped
 * first, and a valid one is kept, since the indexes it replaces may be gone already. Not in a
 * transaction: CONCURRENTLY cannot run in one.
 */
export async function createIndexConcurrently(sequelize: Sequelize, name: string, definition: string): Promise<void> {
  const [index] = await sequelize.query<{ valid: boolean }>('SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)', {
    bind: [name],
    type: QueryTypes.SELECT,
  });
  if (index?.valid) return;
  if (index) await sequelize.query(`DROP INDEX CONCURRENTLY ${name}`);
  await sequelize.query(`CREATE INDEX CONCURRENTLY ${name} ON ${definition}`);
}
