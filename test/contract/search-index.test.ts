import { randomBytes } from 'node:crypto';
import { Client as Elasticsearch } from '@elastic/elasticsearch';
import { afterAll, describe, it } from 'vitest';
import { createSequelize } from '../../src/platform/db/sequelize';
import { createLogger } from '../../src/platform/logger';
import { ElasticsearchSearchIndex, PostgresSearchIndex } from '../../src/platform/search';
import { TEST_ENV } from '../support/env';
import { searchIndexContract } from './search-index.contract';

const log = createLogger('silent', 'test');
const sequelize = createSequelize({ url: TEST_ENV.DATABASE_URL, poolMax: 8 }, log);
afterAll(() => sequelize.close());

// Each test gets a copy of the live table (same columns, generated columns, indexes), so the
// suite never sees the component tests' listings nor they its.
searchIndexContract('postgres', async () => {
  const table = `search_t_${randomBytes(5).toString('hex')}`;
  await sequelize.query(`CREATE TABLE ${table} (LIKE search_documents INCLUDING ALL)`);
  return {
    index: new PostgresSearchIndex({ sequelize, table }),
    drop: async () => {
      await sequelize.query(`DROP TABLE IF EXISTS ${table}`);
    },
  };
});

const elasticsearchUrl = process.env.ELASTICSEARCH_URL;
if (elasticsearchUrl) {
  const client = new Elasticsearch({ node: elasticsearchUrl });
  afterAll(() => client.close());
  searchIndexContract('elasticsearch', async () => {
    const alias = `junggo-test-${randomBytes(5).toString('hex')}`;
    return {
      index: new ElasticsearchSearchIndex({ url: elasticsearchUrl, alias, refreshOnWrite: true, log, client }),
      drop: async () => {
        // By name: Elasticsearch 8 refuses wildcard deletes (action.destructive_requires_name).
        const indices = Object.keys(await client.indices.get({ index: `${alias}-*` }));
        if (indices.length) await client.indices.delete({ index: indices }, { ignore: [404] });
      },
    };
  });
} else {
  // Visible in every run's output; a skipped suite proves nothing about the adapter.
  describe('SearchIndex contract: elasticsearch', () => {
    it.skip('needs ELASTICSEARCH_URL (an Elasticsearch 8 node with analysis-nori); not run', () => undefined);
  });
}
