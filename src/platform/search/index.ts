import type { Sequelize } from 'sequelize';
import type { Logger } from '../logger';
import { ElasticsearchSearchIndex } from './elasticsearch-search-index';
import { PostgresSearchIndex } from './postgres-search-index';
import type { SearchIndex } from './search-index';

export * from './search-index';
export { PostgresSearchIndex } from './postgres-search-index';
export { ElasticsearchSearchIndex } from './elasticsearch-search-index';

/** Elasticsearch when `elasticsearchUrl` is set, otherwise PostgreSQL (the `search_documents` table). */
export function createSearchIndex(opts: { sequelize: Sequelize; elasticsearchUrl?: string; elasticsearchIndex?: string; log: Logger }): SearchIndex {
  if (opts.elasticsearchUrl) return new ElasticsearchSearchIndex({ url: opts.elasticsearchUrl, alias: opts.elasticsearchIndex, log: opts.log });
  return new PostgresSearchIndex({ sequelize: opts.sequelize });
}
