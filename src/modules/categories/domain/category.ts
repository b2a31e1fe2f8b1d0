/** A category as the domain sees it (the repository's plain object). */
export interface Category {
  id: string;
  parentId: string | null;
  name: string;
  slug: string;
  depth: number;
  path: string;
  sortOrder: number;
}

export interface CategoryNode extends Category {
  children: CategoryNode[];
}

export interface CategoryChanges {
  name?: string;
  sortOrder?: number;
}

const bySortOrder = (a: Category, b: Category) => a.sortOrder - b.sortOrder || a.path.localeCompare(b.path);

/** Assembles flat rows into trees rooted at the categories whose parent is not among the rows. */
export function buildTree(rows: Category[]): CategoryNode[] {
  const nodes = new Map(rows.map((r) => [r.id, { ...r, children: [] as CategoryNode[] }]));
  const roots: CategoryNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.parentId ? nodes.get(node.parentId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  const sort = (list: CategoryNode[]) => {
    list.sort(bySortOrder);
    list.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}

/** The tree cut below `maxDepth` (0 keeps only the top level). */
export function pruneTree(nodes: CategoryNode[], maxDepth: number): CategoryNode[] {
  return nodes.map((n) => ({ ...n, children: n.depth >= maxDepth ? [] : pruneTree(n.children, maxDepth) }));
}
