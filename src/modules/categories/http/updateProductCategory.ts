import type { Handler } from '../../../platform/http/operations';
import type { CategoryService } from '../domain/category-service';
import { toCategoryResource } from './category-mapper';

export const updateProductCategory =
  (service: CategoryService): Handler<'updateProductCategory'> =>
  async ({ ctx, path, headers, body }) => {
    const { node, etag } = await service.updateCategory(ctx, path.category_id, { name: body.name, sortOrder: body.sort_order }, headers['If-Match']);
    return { status: 200, headers: { ETag: etag }, body: toCategoryResource(node) };
  };
