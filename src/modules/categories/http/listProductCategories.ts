import { etagMatches } from '../../../platform/http/conditional';
import type { Handler } from '../../../platform/http/operations';
import type { CategoryService } from '../domain/category-service';
import type { CategoryTreeResource } from './category-mapper';

// Also on 304s: a cache refreshes its stored headers from them (RFC 9110 §15.4.5).
export const CACHE_CONTROL = 'public, max-age=60, must-revalidate';

export const listProductCategories =
  (service: CategoryService): Handler<'listProductCategories'> =>
  async ({ ctx, query, headers }) => {
    const { etag, json } = await service.getTree(ctx, query.max_depth ?? 5);
    if (etagMatches(headers['If-None-Match'], etag)) return { status: 304, headers: { ETag: etag, 'Cache-Control': CACHE_CONTROL } };
    return { status: 200, headers: { ETag: etag, 'Cache-Control': CACHE_CONTROL }, body: json as Buffer & { __json?: CategoryTreeResource } };
  };
