import { etagMatches } from '../../../platform/http/conditional';
import type { Handler } from '../../../platform/http/operations';
import type { CategoryService } from '../domain/category-service';
import { toCategoryResource } from './category-mapper';
import { CACHE_CONTROL } from './listProductCategories';

export const getProductCategory =
  (service: CategoryService): Handler<'getProductCategory'> =>
  async ({ path, headers }) => {
    const { node, etag } = await service.getCategory(path.category_id);
    if (etagMatches(headers['If-None-Match'], etag)) return { status: 304, headers: { ETag: etag, 'Cache-Control': CACHE_CONTROL } };
    return { status: 200, headers: { ETag: etag, 'Cache-Control': CACHE_CONTROL }, body: toCategoryResource(node) };
  };
