import { describe, expect, it } from 'vitest';
import { lazyCollection, type Collection, type Doc, type DocumentStore } from '../../src/platform/documents/document-store';

describe('lazyCollection', () => {
  it('when the first opening fails (the store unreachable), then the next use opens it again, and once open it is shared', async () => {
    const opened = { get: async () => null } as unknown as Collection<Doc>;
    let calls = 0;
    const store = {
      collection: async () => {
        calls += 1;
        if (calls === 1) throw new Error('connect ECONNREFUSED');
        return opened;
      },
    } as unknown as DocumentStore;
    const docs = lazyCollection<Doc>(store, { name: 'anything', indexes: [] });
    await expect(docs()).rejects.toThrow(/ECONNREFUSED/);
    expect(await docs()).toBe(opened);
    expect(await docs()).toBe(opened);
    expect(calls).toBe(2);
  });
});
