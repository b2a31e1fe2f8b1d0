import { categoryId } from '../modules/categories/domain/category-id';
import type { Migration } from '../platform/db/migrator';
import { categoryTree, type CategorySeed } from './data/category-tree-2026-11';

interface Row {
  id: string;
  parent_id: string | null;
  name: string;
  slug: string;
  depth: number;
  path: string;
  sort_order: number;
}

function flatten(nodes: CategorySeed[], parent: Row | null, rows: Row[]): Row[] {
  nodes.forEach((node, index) => {
    const path = parent ? `${parent.path}/${node.slug}` : node.slug;
    const row: Row = {
      id: categoryId(path),
      parent_id: parent?.id ?? null,
      name: node.name,
      slug: node.slug,
      depth: parent ? parent.depth + 1 : 0,
      path,
      sort_order: index + 1,
    };
    rows.push(row);
    flatten(node.children ?? [], row, rows);
  });
  return rows;
}

export const up: Migration = async ({ context: { queryInterface } }) => {
  await queryInterface.bulkInsert('categories', flatten(categoryTree, null, []));
};

export const down: Migration = async ({ context: { sequelize } }) => {
  const paths = flatten(categoryTree, null, []).map((r) => r.path);
  await sequelize.query('DELETE FROM categories WHERE path = ANY($1) AND depth > 0', { bind: [paths] });
  await sequelize.query('DELETE FROM categories WHERE path = ANY($1)', { bind: [paths] });
};
