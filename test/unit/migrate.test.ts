import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../src/cli/migrate';
import { createIndexConcurrently } from '../../src/migrations/support/concurrent-index';
import { QueryTypes } from 'sequelize';
import { selectPrepared } from '../../src/platform/db/prepared';
import { createSequelize, ensureDatabase, READ_REPLICA } from '../../src/platform/db/sequelize';
import { createLogger } from '../../src/platform/logger';
import { TEST_ENV } from '../support/env';
import { readOnlyReplicaUrl } from '../support/read-only-replica';

const withDatabase = (name: string) => {
  const url = new URL(TEST_ENV.DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
};

describe('migrate', () => {
  it('when the database does not exist, then it is created in UTF-8 and migrated, and a second run applies nothing', async () => {
    const name = `junggo_migrate_${randomUUID().slice(0, 8)}`;
    const url = withDatabase(name);
    const admin = new Client({ connectionString: withDatabase('postgres') });
    await admin.connect();
    try {
      const applied = await migrate(url, null, 'silent');
      expect(applied).toEqual(expect.arrayContaining(['20261127-0001-create-categories', '20261127-0002-seed-category-tree', '20261127-0003-create-event-store']));
      expect(await migrate(url, null, 'silent')).toEqual([]);
      const { rows } = await admin.query('SELECT pg_encoding_to_char(encoding) AS enc FROM pg_database WHERE datname = $1', [name]);
      expect(rows[0].enc).toBe('UTF8');
      const db = new Client({ connectionString: url });
      await db.connect();
      // Korean sorts in 가나다 order under the database's collation.
      const sorted = await db.query(`SELECT name FROM categories WHERE depth = 0 AND name IN ('도서', '가구/인테리어', '식물') ORDER BY name`);
      expect(sorted.rows.map((r) => r.name)).toEqual(['가구/인테리어', '도서', '식물']);
      await db.end();
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });

  // A process waiting inside pg_advisory_lock holds a snapshot, and migration 0026 builds an index
  // CONCURRENTLY, which waits for every older snapshot: with a blocking wait the two processes
  // waited for each other forever.
  it('when three processes migrate a new database at once, then all finish, and each migration is applied once', async () => {
    const name = `junggo_migrate_${randomUUID().slice(0, 8)}`;
    const url = withDatabase(name);
    const admin = new Client({ connectionString: withDatabase('postgres') });
    await admin.connect();
    try {
      // The database exists, empty (concurrent CREATE DATABASE is not what is under test).
      await ensureDatabase(url);
      const runs = await Promise.all([migrate(url, null, 'silent'), migrate(url, null, 'silent'), migrate(url, null, 'silent')]);
      const applied = runs.flat();
      expect(applied).toContain('20261128-0026-search-words-across-spaces');
      expect(new Set(applied).size).toBe(applied.length);
      const db = new Client({ connectionString: url });
      await db.connect();
      const { rows } = await db.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'search_documents' AND indexname LIKE '%trgm'`);
      expect(rows.map((r) => r.indexname).sort()).toEqual(['search_documents_search_compact_trgm', 'search_documents_title_trgm']);
      await db.end();
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  }, 120_000);
});

describe('createIndexConcurrently (migrations that can run again after failing part-way)', () => {
  it('when the index is valid, then it is kept; when an interrupted build left it invalid, then it is built again; when missing, then it is built', async () => {
    const table = `ci_${randomUUID().slice(0, 8)}`;
    const sequelize = createSequelize({ url: TEST_ENV.DATABASE_URL, poolMax: 2 }, createLogger('silent', 'test'));
    const state = async () =>
      (await sequelize.query<{ oid: string; valid: boolean }>('SELECT indexrelid::text AS oid, indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)', { bind: [`${table}_n`], type: QueryTypes.SELECT }))[0];
    try {
      await sequelize.query(`CREATE TABLE ${table} (n integer)`);
      await createIndexConcurrently(sequelize, `${table}_n`, `${table} (n)`);
      const built = await state();
      expect(built?.valid).toBe(true);
      await createIndexConcurrently(sequelize, `${table}_n`, `${table} (n)`);
      expect(await state()).toEqual(built);
      // What an interrupted CREATE INDEX CONCURRENTLY leaves behind.
      await sequelize.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = '${table}_n'::regclass`);
      await createIndexConcurrently(sequelize, `${table}_n`, `${table} (n)`);
      const rebuilt = await state();
      expect(rebuilt?.valid).toBe(true);
      expect(rebuilt?.oid).not.toBe(built?.oid);
    } finally {
      await sequelize.query(`DROP TABLE IF EXISTS ${table}`);
      await sequelize.close();
    }
  });
});

describe('createSequelize', () => {
  it('when a read-only replica is configured, then writes (RETURNING ones too) and ordinary reads go to the primary, and only reads that ask for the replica go there', async () => {
    const sequelize = createSequelize({ url: TEST_ENV.DATABASE_URL, replicaUrl: await readOnlyReplicaUrl(), poolMax: 2 }, createLogger('silent', 'test'));
    const who = async (options: object) => ((await sequelize.query<{ who: string }>('SELECT current_user AS who', { type: QueryTypes.SELECT, ...options }))[0]!.who);
    const primary = decodeURIComponent(new URL(TEST_ENV.DATABASE_URL).username);
    try {
      expect(await who({})).toBe(primary);
      expect(await who(READ_REPLICA)).toBe('junggo_test_readonly');
      const table = `replica_probe_${randomUUID().slice(0, 8)}`;
      await sequelize.query(`CREATE TABLE ${table} (n int)`);
      try {
        expect(await sequelize.query(`INSERT INTO ${table} VALUES (1) RETURNING n`, { type: QueryTypes.SELECT })).toEqual([{ n: 1 }]);
      } finally {
        await sequelize.query(`DROP TABLE ${table}`);
      }
      const prepared = 'SELECT current_user AS who, $1::int AS n';
      expect(await selectPrepared(sequelize, prepared, [1])).toEqual([{ who: primary, n: 1 }]);
      expect(await selectPrepared(sequelize, prepared, [2], { replica: true })).toEqual([{ who: 'junggo_test_readonly', n: 2 }]);
      // What the replica refuses, so the routing above is what keeps writes working.
      await expect(sequelize.query(`CREATE TABLE ${table}_refused (n int)`, { type: QueryTypes.SELECT, ...READ_REPLICA })).rejects.toThrow(/read-only transaction/);
    } finally {
      await sequelize.close();
    }
  });

  it('when a replica URL is configured, then reads and writes both work through the replication config', async () => {
    const sequelize = createSequelize({ url: TEST_ENV.DATABASE_URL, replicaUrl: TEST_ENV.DATABASE_URL, poolMax: 2 }, createLogger('silent', 'test'));
    try {
      const [rows] = await sequelize.query('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await sequelize.close();
    }
  });
});
