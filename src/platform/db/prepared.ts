import { createHash } from 'node:crypto';
import type { Sequelize, Transaction } from 'sequelize';

// Hot reads as named prepared statements. PostgreSQL plans an unnamed statement on every
// execution, and for short lookups the planning is most of the work: the listing detail's
// four-table join planned in 0.42–0.57 ms and ran in 0.15–0.20 ms (200,000 listings; pgbench,
// 4 clients: 5,473 queries/s unprepared, 26,641 prepared; docs/performance.md, run 6). A named
// statement is parsed once per connection and, after five executions, runs a generic plan.
//
// Only for statements whose best plan does not depend on the values: lookups by key, keyset
// ranges of one index. A LIKE or a full-text match must keep planning per value (a generic plan
// cannot tell a rare word from a common one), so those stay on `sequelize.query`.

/** pg's client or pool, as Sequelize's connection manager or the document store hold them. */
export interface PgClient {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

interface ConnectionManager {
  getConnection(options: { type: 'SELECT' | 'write'; useMaster: boolean }): Promise<PgClient>;
  releaseConnection(client: PgClient): Promise<void>;
}

/** The name is the statement's hash (and generation): the same text has the same name in every connection. */
const generations = new Map<string, number>();
const names = new Map<string, string>();
export function statementName(text: string): string {
  let name = names.get(text);
  if (!name) {
    const generation = generations.get(text) ?? 0;
    name = `j_${createHash('sha256').update(text).digest('base64url').slice(0, 24)}${generation ? `_${generation}` : ''}`;
    names.set(text, name);
  }
  return name;
}

// A statement prepared before a migration changed a table under `*` fails with 0A000 ("cached
// plan must not change result type"). The text then gets a new name, prepared afresh on each
// connection, and this call is answered unnamed.
const isStalePlan = (err: unknown) => (err as { code?: unknown }).code === '0A000';

export async function runPrepared<T>(client: PgClient, text: string, values: unknown[]): Promise<T[]> {
  const name = statementName(text);
  try {
    return (await client.query({ name, text, values })).rows as T[];
  } catch (err) {
    if (!isStalePlan(err)) throw err;
    if (names.get(text) === name) {
      generations.set(text, (generations.get(text) ?? 0) + 1);
      names.delete(text);
    }
    return (await client.query({ text, values })).rows as T[];
  }
}

export interface PreparedOptions {
  transaction?: Transaction | undefined;
  /** May be answered by the read replica, when one is configured (else the primary's pool). */
  replica?: boolean;
}

/**
 * Runs a SELECT as a named prepared statement on a connection of Sequelize's pool (the primary's,
 * or the replica's when asked for), or on the transaction's own.
 */
export async function selectPrepared<T>(sequelize: Sequelize, text: string, values: unknown[], { transaction, replica = false }: PreparedOptions = {}): Promise<T[]> {
  // Logged as Sequelize logs its own queries (the SQL trace, the bench's plan capture).
  const { logging } = (sequelize as unknown as { options: { logging?: unknown } }).options;
  if (typeof logging === 'function') (logging as (sql: string, options: { bind: unknown[] }) => void)(`Executing (prepared): ${text}`, { bind: values });
  if (transaction) return runPrepared<T>((transaction as unknown as { connection: PgClient }).connection, text, values);
  const connections = sequelize.connectionManager as unknown as ConnectionManager;
  const client = await connections.getConnection({ type: 'SELECT', useMaster: !replica });
  try {
    return await runPrepared<T>(client, text, values);
  } finally {
    await connections.releaseConnection(client);
  }
}
