import { QueryTypes, type Sequelize } from 'sequelize';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Runs `deleteSlice` (one statement deleting at most `slice` rows, answering how many it deleted)
 * until one deletes fewer: each slice commits on its own, so a large backlog (a first prune of a
 * long history) never holds one long transaction or its row locks. Stops between slices once
 * `signal` is aborted (a job's timeout, a worker stopping). The number of rows deleted.
 */
export async function deleteInSlices(deleteSlice: (slice: number) => Promise<number>, slice = 5000, signal?: AbortSignal): Promise<number> {
  let deleted = 0;
  for (;;) {
    const n = await deleteSlice(slice);
    deleted += n;
    if (n < slice || signal?.aborted) return deleted;
  }
}

/**
 * Deletes the rows of `table` whose `column` is more than `days` old, in slices of `slice` rows
 * (deleteInSlices). `table` and `column` are names from code, checked; the number of rows deleted.
 */
export async function deleteOlderThan(sequelize: Sequelize, table: string, column: string, days: number, slice = 5000): Promise<number> {
  if (!IDENTIFIER.test(table) || !IDENTIFIER.test(column)) throw new Error(`deleteOlderThan: not a plain name: ${table}.${column}`);
  return deleteInSlices(async (limit) => {
    const rows = await sequelize.query(
      `DELETE FROM ${table} WHERE ctid IN (
         SELECT ctid FROM ${table} WHERE ${column} < now() - make_interval(days => $1) LIMIT $2)
       RETURNING 1`,
      { bind: [days, limit], type: QueryTypes.SELECT },
    );
    return rows.length;
  }, slice);
}
