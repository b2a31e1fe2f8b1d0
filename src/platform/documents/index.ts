import type { Logger } from '../logger';
import type { DocumentStore } from './document-store';
import { PostgresDocumentStore } from './postgres-document-store';

export type { Collection, CollectionSpec, Doc, DocumentStore, Filter, FilterOp, FindQuery, IndexType, Page } from './document-store';
export { lazyCollection } from './document-store';

export interface DocumentStoreOptions {
  databaseUrl: string;
  /** When set, read models live in MongoDB instead of PostgreSQL. */
  mongodbUrl?: string;
  log: Logger;
  poolMax?: number;
}

/** The document store for read models: PostgreSQL JSONB by default, MongoDB when a URL is given. */
export async function createDocumentStore(opts: DocumentStoreOptions): Promise<DocumentStore> {
  const log = opts.log.child({ component: 'documents' });
  if (opts.mongodbUrl) {
    // Loaded only when used: most deployments never pay for Mongoose's startup.
    const { MongoDocumentStore } = await import('./mongo-document-store');
    return MongoDocumentStore.connect(opts.mongodbUrl, log, opts.poolMax);
  }
  return new PostgresDocumentStore({ url: opts.databaseUrl, log, poolMax: opts.poolMax });
}
