import { migrate } from '../../src/cli/migrate';
import { TEST_ENV } from './env';

/** Creates (if missing) and migrates the test database once per run. Nothing is truncated. */
export default async function setup(): Promise<void> {
  await migrate(TEST_ENV.DATABASE_URL, TEST_ENV.REDIS_URL, 'warn');
}
