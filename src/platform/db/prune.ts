import { QueryTypes, type Sequelize } from 'sequelize';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Deletes the rows of `table` whose `column` is more than `days` old, in slices of `slice` rows,
 * so that a large backlog (a first prune of a long history) never holds one long transaction or
 * lock. `table` and `column` are names from code, checked; the number of rows deleted.
 */
export async function deleteOlderThan(sequelize: Sequelize, table: string, column: string, days: number, slice = 5000): Promise<number> {
  if (!IDENTIFIER.test(table) || !IDENTIFIER.test(column)) throw new Error(`deleteOlderThan: not a plain name: ${table}.${column}`);
  let deleted = 0;
  for (;;) {
    const rows = await sequelize.query(
      `DELETE FROM ${table} WHERE ctid IN (
         SELECT ctid FROM ${table} WHERE ${column} < now() - make_interval(days => $1) LIMIT $2)
       RETURNING 1`,
      { bind: [days, slice], type: QueryTypes.SELECT },
    );
    deleted += rows.length;
    if (rows.length < slice) return deleted;
  }
}
