import { Client } from 'pg';
import { TEST_ENV } from './env';

const ROLE = 'junggo_test_readonly';

/**
 * Runs role set-up under a lock held in the cluster's `postgres` database: roles are cluster-wide,
 * and test runs on one cluster (each with its own database) may set up the same role at once,
 * where two concurrent ALTER ROLE or GRANT fail ("tuple concurrently updated"). `fn` gets that
 * connection; role statements work from any database. (The roles log in without a password, like
 * every role on a trust-auth test cluster.)
 */
export async function withTestRolesLock<T>(fn: (admin: Client) => Promise<T>): Promise<T> {
  const url = new URL(TEST_ENV.DATABASE_URL);
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    await admin.query(`SELECT pg_advisory_lock(hashtextextended('junggo.test-roles', 0))`);
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** Creates the role if missing, then applies `settings` (ALTER ROLE … SET) and the read grant. */
export async function ensureTestRole(admin: Client, role: string, settings: Record<string, string>): Promise<void> {
  if ((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount === 0) await admin.query(`CREATE ROLE ${role} LOGIN`);
  for (const [name, value] of Object.entries(settings)) await admin.query(`ALTER ROLE ${role} SET ${name} = ${value}`);
  await admin.query(`GRANT pg_read_all_data TO ${role}`);
}

/**
 * A replica for tests: the test database through a role whose transactions are read-only, so a
 * write sent to it fails as it would on a hot standby (there is no lag to observe, though).
 */
export async function readOnlyReplicaUrl(): Promise<string> {
  await withTestRolesLock((admin) => ensureTestRole(admin, ROLE, { default_transaction_read_only: 'on' }));
  const url = new URL(TEST_ENV.DATABASE_URL);
  url.username = ROLE;
  url.password = '';
  return url.toString();
}
