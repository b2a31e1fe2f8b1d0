import type Redis from 'ioredis';
import type { Sequelize } from 'sequelize';
import { CachedJson } from '../../platform/cache/cached-json';
import { eventRecorder } from '../../platform/events/event-store';
import type { PgListener } from '../../platform/db/pg-listener';
import type { Logger } from '../../platform/logger';
import { createCategoryRepository } from './data/category-repository';
import { buildTree, pruneTree } from './domain/category';
import { createCategoryService, type RequireCategoryEditor, type TreeVariant } from './domain/category-service';
import { toCategoryTreeResource, type CategoryTreeResource } from './http/category-mapper';
import { getProductCategory } from './http/getProductCategory';
import { listProductCategories } from './http/listProductCategories';
import { updateProductCategory } from './http/updateProductCategory';

export const CATEGORY_TREE_CACHE_KEY = 'cache:categories:tree:v2';

/** Wires the categories component: repository, cached tree, use cases, HTTP handlers. */
export function categoriesModule(deps: { sequelize: Sequelize; redis: Redis; listener: PgListener; cacheTtlSeconds: number; log: Logger; requireEditor: RequireCategoryEditor }) {
  const repo = createCategoryRepository(deps.sequelize);
  const treeCache = new CachedJson<CategoryTreeResource, TreeVariant>(
    deps.redis,
    CATEGORY_TREE_CACHE_KEY,
    deps.cacheTtlSeconds,
    async (variant) => toCategoryTreeResource(pruneTree(buildTree(await repo.listAll()), Number(variant.slice('depth-'.length)))),
    deps.log,
  );
  const service = createCategoryService({ repo, treeCache, recordEvents: eventRecorder(deps.sequelize), requireEditor: deps.requireEditor });
  // Any writer (migration, admin, psql) fires the trigger; every API process drops the cache.
  deps.listener.on('categories_changed', () => void service.invalidateTree());
  return {
    service,
    handlers: {
      listProductCategories: listProductCategories(service),
      getProductCategory: getProductCategory(service),
      updateProductCategory: updateProductCategory(service),
    },
  };
}
