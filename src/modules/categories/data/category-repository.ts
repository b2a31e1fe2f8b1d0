import { Op, type Sequelize, type Transaction } from 'sequelize';
import type { Category, CategoryChanges } from '../domain/category';
import { defineCategoryModel, type CategoryModel } from './category-model';

const toCategory = (m: CategoryModel): Category => ({
  id: m.id,
  parentId: m.parentId,
  name: m.name,
  slug: m.slug,
  depth: m.depth,
  path: m.path,
  sortOrder: m.sortOrder,
});

const ATTRIBUTES = ['id', 'parentId', 'name', 'slug', 'depth', 'path', 'sortOrder'] as const;

export function createCategoryRepository(sequelize: Sequelize) {
  const Categories = defineCategoryModel(sequelize);

  return {
    async listAll(): Promise<Category[]> {
      const rows = await Categories.findAll({ attributes: [...ATTRIBUTES] });
      return rows.map(toCategory);
    },

    /** The category and every category below it. */
    async findSubtree(id: string, transaction?: Transaction): Promise<Category[]> {
      const root = await Categories.findByPk(id, { attributes: [...ATTRIBUTES], transaction, lock: transaction ? transaction.LOCK.UPDATE : undefined });
      if (!root) return [];
      const below = await Categories.findAll({
        attributes: [...ATTRIBUTES],
        where: { path: { [Op.startsWith]: `${root.path}/` } },
        transaction,
      });
      return [toCategory(root), ...below.map(toCategory)];
    },

    async update(id: string, changes: CategoryChanges, transaction: Transaction): Promise<void> {
      await Categories.update({ ...changes, updatedAt: new Date() }, { where: { id }, transaction });
    },

    /** Runs `work` in one transaction. */
    transaction<T>(work: (t: Transaction) => Promise<T>): Promise<T> {
      return sequelize.transaction(work);
    },
  };
}
export type CategoryRepository = ReturnType<typeof createCategoryRepository>;
