import { Sequelize } from 'sequelize';
import type { Logger } from '../logger';

/** The system of record. Pool small by default: on 2 cores a pool of 4 serves most (PERFORMANCE-NOTES.md). */
export interface DatabaseOptions {
  url: string;
  replicaUrl?: string;
  poolMax: number;
}

export function createSequelize(db: DatabaseOptions, log: Logger): Sequelize {
  // Connections stay open through lulls (idle 10 min, not Sequelize's 10 s): a new one costs a
  // request ~12 ms to connect and its first queries their session's cold caches (measured on the
  // bench data: a listing's detail 15 ms instead of 3, a keyword search 70 ms instead of 9), and
  // the prepared statements are per connection (docs/performance.md, run 9).
  const pool = { max: db.poolMax, min: 0, idle: 600_000, acquire: 10_000 };
  const common = {
    dialect: 'postgres' as const,
    pool,
    logging: (sql: string) => log.trace({ sql }, 'sql'),
    define: { underscored: true, timestamps: true },
  };
  if (!db.replicaUrl) return new Sequelize(db.url, common);
  const parse = (u: string) => {
    const url = new URL(u);
    return {
      host: url.hostname,
      port: Number(url.port || 5432),
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database: url.pathname.slice(1),
    };
  };
  const write = parse(db.url);
  return new Sequelize(write.database, write.username, write.password, {
    ...common,
    replication: { write, read: [parse(db.replicaUrl)] },
    // Sequelize sends every SELECT outside a transaction to the replica, and statements with
    // RETURNING are run as SELECTs: on a read-only standby those writes fail. And a replica lags,
    // so a read right after a write can miss it (a listing's cache refilled with the old row).
    // So everything goes to the primary unless a read asks for the replica (`READ_REPLICA`):
    // search and feeds, which are cached and tolerate a moment of lag.
    query: { useMaster: true },
  });
}

/** Query options of a read that may be answered by the replica, when one is configured. */
export const READ_REPLICA = { useMaster: false } as const;

/** Creates the database named in the URL when it is missing, with UTF-8 encoding so Korean text sorts and matches correctly. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const { Client } = await import('pg');
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    const ident = `"${name.replace(/"/g, '""')}"`;
    // template0 so that the encoding and collation may differ from template1's.
    await admin.query(`CREATE DATABASE ${ident} WITH ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0`);
    return true;
  } finally {
    await admin.end();
  }
}
