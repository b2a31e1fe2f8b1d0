import type { components } from '../../../../generated/api';
import type { CategoryNode } from '../domain/category';

export type CategoryResource = components['schemas']['Category'];
export type CategoryTreeResource = components['schemas']['CategoryTree'];

export function toCategoryResource(node: CategoryNode): CategoryResource {
  return {
    id: node.id,
    object: 'category',
    parent_id: node.parentId,
    name: node.name,
    slug: node.slug,
    depth: node.depth,
    path: node.path,
    sort_order: node.sortOrder,
    children: node.children.map(toCategoryResource),
  };
}

export const toCategoryTreeResource = (roots: CategoryNode[]): CategoryTreeResource => ({
  object: 'list',
  data: roots.map(toCategoryResource),
  has_more: false,
  next_cursor: null,
});
