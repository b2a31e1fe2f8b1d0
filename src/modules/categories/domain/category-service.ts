import { assertIfMatch } from '../../../platform/http/conditional';
import { notFound } from '../../../platform/errors';
import type { Transaction } from 'sequelize';
import type { RequestContext } from '../../../platform/context';
import { etagOf, type CachedEntry, type CachedJson } from '../../../platform/cache/cached-json';
import type { CategoryRepository } from '../data/category-repository';
import { metadataFrom, type RecordEvents } from '../../../platform/events/event-store';
import { buildTree, type CategoryChanges, type CategoryNode } from './category';

/** The ETag of one category: a hash of its sub-tree, so that any change below it changes it too. */
export const categoryEtag = (node: CategoryNode): string => etagOf(Buffer.from(JSON.stringify(node)));

/** Cache variant of the tree: its maximum depth. */
export type TreeVariant = `depth-${number}`;

/** Passes when the caller may edit the tree (`categories:edit`) on their token and their account as it is now; else 401/403. */
export type RequireCategoryEditor = (ctx: RequestContext, t: Transaction) => Promise<unknown>;

export function createCategoryService<TreeJson>(deps: {
  repo: CategoryRepository;
  treeCache: CachedJson<TreeJson, TreeVariant>;
  recordEvents: RecordEvents;
  requireEditor: RequireCategoryEditor;
}) {
  const { repo, treeCache, recordEvents, requireEditor } = deps;

  async function loadNode(id: string, transaction?: Parameters<CategoryRepository['findSubtree']>[1]): Promise<CategoryNode> {
    const [node] = buildTree(await repo.findSubtree(id, transaction));
    if (!node) throw notFound('No category has this id.');
    return node;
  }

  return {
    /** The tree down to `maxDepth`, as cached bytes with their ETag. */
    getTree(ctx: RequestContext, maxDepth: number): Promise<CachedEntry<TreeJson>> {
      return treeCache.get(`depth-${maxDepth}`, ctx.log);
    },

    /** One category with its sub-tree. */
    async getCategory(id: string): Promise<{ node: CategoryNode; etag: string }> {
      const node = await loadNode(id);
      return { node, etag: categoryEtag(node) };
    },

    /** Renames or reorders a category (`categories:edit`), optimistic on If-Match; records `category.updated` and drops the cached tree. */
    async updateCategory(ctx: RequestContext, id: string, changes: CategoryChanges, ifMatch: string | undefined) {
      const updated = await repo.transaction(async (t) => {
        await requireEditor(ctx, t);
        const current = await loadNode(id, t);
        assertIfMatch(ifMatch, categoryEtag(current), 'category');
        await repo.update(id, changes, t);
        await recordEvents(t, { type: 'category', id }, [categoryUpdated(current, changes)], metadataFrom(ctx));
        return loadNode(id, t);
      });
      await treeCache.invalidate();
      return { node: updated, etag: categoryEtag(updated) };
    },

    invalidateTree(): Promise<void> {
      return treeCache.invalidate();
    },
  };
}
export type CategoryService = ReturnType<typeof createCategoryService>;

function categoryUpdated(before: CategoryNode, changes: CategoryChanges) {
  return {
    type: 'category.updated',
    payload: {
      path: before.path,
      changes: { name: changes.name, sort_order: changes.sortOrder },
      previous: { name: before.name, sort_order: before.sortOrder },
    },
  };
}
