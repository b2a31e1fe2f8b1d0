import { QueryTypes } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectPrepared, statementName } from '../../src/platform/db/prepared';
import { createSequelize } from '../../src/platform/db/sequelize';
import { createLogger } from '../../src/platform/logger';
import { TEST_ENV } from '../support/env';

// One connection, so every call below meets the statements the earlier ones prepared.
const sequelize = createSequelize({ url: TEST_ENV.DATABASE_URL, poolMax: 1 }, createLogger('silent', 'test'));
const table = `prepared_probe_${process.pid}`;
beforeAll(async () => {
  await sequelize.query(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id int PRIMARY KEY, name text)`);
  await sequelize.query(`INSERT INTO ${table} VALUES (1, '하나'), (2, '둘')`);
});
afterAll(async () => {
  await sequelize.query(`DROP TABLE IF EXISTS ${table}`);
  await sequelize.close();
});

const prepared = async (name: string) =>
  (await sequelize.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements WHERE name = $1', { bind: [name], type: QueryTypes.SELECT })).map((r) => r.statement);

describe('prepared hot reads', () => {
  it('when a select runs prepared, then it answers what sequelize.query answers and leaves one named statement on the connection', async () => {
    const sql = `SELECT id, name FROM ${table} WHERE id = $1`;
    expect(await selectPrepared(sequelize, sql, [2])).toEqual(await sequelize.query(sql, { bind: [2], type: QueryTypes.SELECT }));
    expect(await selectPrepared(sequelize, sql, [1])).toEqual([{ id: 1, name: '하나' }]);
    expect(await selectPrepared(sequelize, sql, [3])).toEqual([]);
    expect(await prepared(statementName(sql))).toEqual([sql]);
  });

  it('when run in a transaction, then it reads on the transaction\'s connection and sees its uncommitted rows', async () => {
    const sql = `SELECT name FROM ${table} WHERE id = $1`;
    await sequelize.transaction(async (transaction) => {
      await sequelize.query(`INSERT INTO ${table} VALUES (3, '셋')`, { transaction });
      expect(await selectPrepared(sequelize, sql, [3], { transaction })).toEqual([{ name: '셋' }]);
      throw Object.assign(new Error('roll back'), { rollback: true });
    }).catch((err: { rollback?: boolean }) => {
      if (!err.rollback) throw err;
    });
    expect(await selectPrepared(sequelize, sql, [3])).toEqual([]);
  });

  it('when a migration changes the table under a prepared `*`, then the next read still answers, with the new column', async () => {
    const sql = `SELECT * FROM ${table} WHERE id = $1`;
    expect(await selectPrepared(sequelize, sql, [1])).toEqual([{ id: 1, name: '하나' }]);
    const before = statementName(sql);
    await sequelize.query(`ALTER TABLE ${table} ADD COLUMN price integer NOT NULL DEFAULT 0`);
    expect(await selectPrepared(sequelize, sql, [1])).toEqual([{ id: 1, name: '하나', price: 0 }]);
    // Prepared again under a new name, so later reads take one round trip, not a failure and a retry.
    expect(statementName(sql)).not.toBe(before);
    expect(await selectPrepared(sequelize, sql, [2])).toEqual([{ id: 2, name: '둘', price: 0 }]);
    expect(await prepared(statementName(sql))).toEqual([sql]);
  });

  it('when two texts differ, then their statement names differ, and one text always has one name', () => {
    expect(statementName('SELECT 1')).toBe(statementName('SELECT 1'));
    expect(statementName('SELECT 1')).not.toBe(statementName('SELECT 2'));
    expect(statementName('SELECT 1')).toMatch(/^j_[A-Za-z0-9_-]{24}$/);
  });
});
