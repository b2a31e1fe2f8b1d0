import type { Collection, Doc } from '../../src/platform/documents/document-store';

/**
 * A collection in memory with the store's contract for projections: upsert writes only a higher
 * version (compare-and-set). `onGet` runs after each read, to hold readers at a chosen moment.
 */
export function memoryCollection<T extends Doc>(onGet?: () => Promise<void>): Collection<T> & { docs: Map<string, T> } {
  const docs = new Map<string, T>();
  return {
    docs,
    async get(id) {
      const doc = docs.get(id);
      await onGet?.();
      return doc ? structuredClone(doc) : null;
    },
    async upsert(doc) {
      const stored = docs.get(doc.id);
      if (stored && stored.version >= doc.version) return false;
      docs.set(doc.id, structuredClone(doc));
      return true;
    },
    delete: async () => false,
    find: async () => ({ items: [], nextCursor: null }),
    count: async () => docs.size,
  };
}
