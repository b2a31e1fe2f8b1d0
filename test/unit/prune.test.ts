import { randomBytes } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteOlderThan } from '../../src/platform/db/prune';
import { createSequelize } from '../../src/platform/db/sequelize';
import { createLogger } from '../../src/platform/logger';
import { TEST_ENV } from '../support/env';

const sequelize = createSequelize({ url: TEST_ENV.DATABASE_URL, poolMax: 2 }, createLogger('silent', 'test'));
afterAll(() => sequelize.close());

describe('deleteOlderThan', () => {
  it('when more old rows than a slice are due, then every one goes, slice by slice, and newer rows stay', async () => {
    const table = `prune_t_${randomBytes(4).toString('hex')}`;
    await sequelize.query(`CREATE TABLE ${table} (n int, at timestamptz NOT NULL)`);
    try {
      await sequelize.query(`INSERT INTO ${table} SELECT g, now() - make_interval(days => 10 + g) FROM generate_series(1, 7) g`);
      await sequelize.query(`INSERT INTO ${table} VALUES (100, now() - interval '9 days'), (101, now())`);
      expect(await deleteOlderThan(sequelize, table, 'at', 10, 3)).toBe(7);
      const left = await sequelize.query<{ n: number }>(`SELECT n FROM ${table} ORDER BY n`, { type: QueryTypes.SELECT });
      expect(left.map((r) => r.n)).toEqual([100, 101]);
      expect(await deleteOlderThan(sequelize, table, 'at', 10, 3)).toBe(0);
    } finally {
      await sequelize.query(`DROP TABLE ${table}`);
    }
  });

  it('when a name is not a plain identifier, then it refuses before sending anything', async () => {
    await expect(deleteOlderThan(sequelize, 'inbox; DROP TABLE users', 'handled_at', 30)).rejects.toThrow(/not a plain name/);
  });
});
