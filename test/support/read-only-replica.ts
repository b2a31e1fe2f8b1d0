import { Client } from 'pg';
import { TEST_ENV } from './env';

const ROLE = 'junggo_test_readonly';

/**
 * Test files run in parallel and roles are cluster-wide: two concurrent CREATE ROLE, ALTER ROLE
 * or GRANT of the same role can fail ("tuple concurrently updated"), so role set-up takes turns.
 * (The roles log in without a password, like every role on a trust-auth test cluster.)
 */
export async function withTestRolesLock<T>(admin: Client, fn: () => Promise<T>): Promise<T> {
  await admin.query(`SELECT pg_advisory_lock(hashtextextended('junggo.test-roles', 0))`);
  try {
    return await fn();
  } finally {
    await admin.query(`SELECT pg_advisory_unlock(hashtextextended('junggo.test-roles', 0))`);
  }
}

/**
 * A replica for tests: the test database through a role whose transactions are read-only, so a
 * write sent to it fails as it would on a hot standby (there is no lag to observe, though).
 */
export async function readOnlyReplicaUrl(): Promise<string> {
  const admin = new Client({ connectionString: TEST_ENV.DATABASE_URL });
  await admin.connect();
  try {
    await withTestRolesLock(admin, async () => {
      if ((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [ROLE])).rowCount === 0) await admin.query(`CREATE ROLE ${ROLE} LOGIN`);
      await admin.query(`ALTER ROLE ${ROLE} SET default_transaction_read_only = on`);
      await admin.query(`GRANT pg_read_all_data TO ${ROLE}`);
    });
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_ENV.DATABASE_URL);
  url.username = ROLE;
  url.password = '';
  return url.toString();
}
