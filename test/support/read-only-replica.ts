import { Client } from 'pg';
import { TEST_ENV } from './env';

const ROLE = 'junggo_test_readonly';

/**
 * A replica for tests: the test database through a role whose transactions are read-only, so a
 * write sent to it fails as it would on a hot standby (there is no lag to observe, though).
 */
export async function readOnlyReplicaUrl(): Promise<string> {
  const admin = new Client({ connectionString: TEST_ENV.DATABASE_URL });
  await admin.connect();
  try {
    // Test files run in parallel: another may create the role between the check and the CREATE.
    await admin.query(`CREATE ROLE ${ROLE} LOGIN`).catch((err: { code?: string }) => {
      if (err.code !== '42710' && err.code !== '23505') throw err;
    });
    await admin.query(`ALTER ROLE ${ROLE} SET default_transaction_read_only = on`);
    await admin.query(`GRANT pg_read_all_data TO ${ROLE}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_ENV.DATABASE_URL);
  url.username = ROLE;
  url.password = '';
  return url.toString();
}
