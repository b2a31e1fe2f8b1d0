/**
 * Starts the real API for the black-box suites (newman/Portman, the Prism e2e run): migrates the
 * test database, listens on an ephemeral port, seeds a category of its own under `other` (the
 * admin flows rename it, never the shared reference tree) and writes what the suites need (URLs,
 * tokens, ids) as JSON to the file given, once the app answers. SIGTERM/SIGINT stop the app and
 * remove the seeded category.
 *
 *   node --import tsx scripts/start-test-app.ts <state.json>
 *
 * Test environment as in test/support/env.ts (TEST_DATABASE_URL, TEST_REDIS_URL, TEST_LOG_LEVEL).
 */
import { randomUUID } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { Client } from 'pg';
import { migrate } from '../src/cli/migrate';
import { categoryId } from '../src/modules/categories/domain/category-id';
import { signAccessToken } from '../src/platform/http/auth';
import { createLogger } from '../src/platform/logger';
import { runProcess } from '../src/runtime';
import { startApi } from '../src/server';
import { testConfig } from '../test/support/env';

export interface TestAppState {
  /** Origin of the app: the operational routes (health, metrics, docs, openapi.*, admin/queues) live here. */
  opsBaseUrl: string;
  /** Base URL of the partner API (`<origin>/v1`). */
  baseUrl: string;
  adminToken: string;
  userToken: string;
  /** Well-formed, but signed with another key: must be a 401 wherever it is sent. */
  invalidToken: string;
  /** A category of this run's own, under `other`, that the admin flows may rename. */
  ownCategoryId: string;
  ownCategoryPath: string;
}

const stateFile = process.argv[2];
if (!stateFile) {
  process.stderr.write('usage: node --import tsx scripts/start-test-app.ts <state.json>\n');
  process.exit(64);
}

const config = testConfig({ LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn' });
const log = createLogger(config.LOG_LEVEL, 'test-app');
const tokens = { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER };
const token = (roles: string[], cfg = tokens) => signAccessToken({ sub: `usr_qa_${randomUUID()}`, sid: `ses_${randomUUID()}`, roles }, cfg);

runProcess(
  log,
  async () => {
    await migrate(config.DATABASE_URL, config.REDIS_URL, 'warn');
    const api = await startApi(config, log);
    const db = new Client({ connectionString: config.DATABASE_URL });
    await db.connect();
    const slug = `qa-${randomUUID().slice(0, 8)}`;
    const path = `other/${slug}`;
    const id = categoryId(path);
    await db.query(
      `INSERT INTO categories (id, parent_id, name, slug, depth, path, sort_order) VALUES ($1, $2, $3, $4, 1, $5, 9500)`,
      [id, categoryId('other'), 'QA 계약 테스트', slug, path],
    );
    const state: TestAppState = {
      opsBaseUrl: api.url,
      baseUrl: `${api.url}/v1`,
      adminToken: token(['admin']),
      userToken: token([]),
      invalidToken: token(['admin'], { ...tokens, secret: `not-the-key-${randomUUID()}` }),
      ownCategoryId: id,
      ownCategoryPath: path,
    };
    // Written whole or not at all: the scripts poll for this file.
    await writeFile(`${stateFile}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
    await rename(`${stateFile}.tmp`, stateFile);
    log.warn({ url: api.url, category: path }, 'test app ready');
    return {
      stop: async () => {
        await db.query('DELETE FROM categories WHERE id = $1', [id]).catch((err) => log.error({ err }, 'could not remove the seeded category'));
        await db.end();
        await api.stop();
      },
    };
  },
  config.SHUTDOWN_TIMEOUT_MS,
);
