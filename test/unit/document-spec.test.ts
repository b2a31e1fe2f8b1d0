import { describe, expect, it } from 'vitest';
import { planQuery, prepareDoc, assertSpec, type CollectionSpec } from '../../src/platform/documents/document-store';

// The checks both DocumentStore adapters share, before anything reaches PostgreSQL or MongoDB:
// a collection's declaration, a document about to be written, and a query. Mistakes here are
// programming errors (plain Errors, 500s), caught by these tests rather than by a database.

const spec: CollectionSpec = { name: 'things', indexes: [{ field: 'n', type: 'number' }, { field: 'ok', type: 'boolean' }, { field: 's', type: 'string' }, { field: 'at', type: 'date' }] };

describe('collection declarations', () => {
  it('when a declaration is malformed, then it is refused naming the mistake', () => {
    expect(() => assertSpec({ name: 'Bad-Name', indexes: [] })).toThrow(/must match/);
    expect(() => assertSpec({ name: 'a__b', indexes: [] })).toThrow(/__/);
    expect(() => assertSpec({ name: 'x', indexes: [{ field: 'bad field', type: 'string' }] })).toThrow(/Index field "bad field"/);
    expect(() => assertSpec({ name: 'x', indexes: [{ field: 'id', type: 'string' }] })).toThrow(/id is always indexed/);
    expect(() => assertSpec({ name: 'x', indexes: [{ field: 'a', type: 'string' }, { field: 'a', type: 'number' }] })).toThrow(/declared twice/);
    expect(() => assertSpec({ name: 'x', indexes: [{ field: 'a', type: 'uuid' as never }] })).toThrow(/unknown type/);
    expect(() => assertSpec(spec)).not.toThrow();
  });
});

describe('documents about to be written', () => {
  it('when id, version or a declared field is wrong, then the write is refused; dates come out as ISO-8601 UTC', () => {
    expect(() => prepareDoc(spec, { id: '', version: 1 })).toThrow(/id must be/);
    expect(() => prepareDoc(spec, { id: 'x'.repeat(257), version: 1 })).toThrow(/id must be/);
    expect(() => prepareDoc(spec, { id: 'a', version: -1 })).toThrow(/version/);
    expect(() => prepareDoc(spec, { id: 'a', version: 1.5 })).toThrow(/version/);
    expect(() => prepareDoc(spec, { id: 'a', version: 1, _id: 'x' } as never)).toThrow(/_id is reserved/);
    expect(() => prepareDoc(spec, { id: 'a', version: 1, n: Number.NaN } as never)).toThrow(/finite number/);
    expect(() => prepareDoc(spec, { id: 'a', version: 1, ok: 'yes' } as never)).toThrow(/a boolean/);
    expect(() => prepareDoc(spec, { id: 'a', version: 1, s: 5 } as never)).toThrow(/a string/);
    expect(() => prepareDoc(spec, { id: 'a', version: 1, at: '2026-11-27 10:00' } as never)).toThrow(/ISO-8601/);
    expect(() => prepareDoc(spec, { id: 'a', version: 1, at: '99999-01-01T00:00:00Z' } as never)).toThrow();
    expect(prepareDoc(spec, { id: 'a', version: 0, at: '2026-11-27T19:00:00+09:00', n: null } as never)).toEqual({ id: 'a', version: 0, at: '2026-11-27T10:00:00.000Z', n: null });
  });
});

describe('queries', () => {
  it('when a query uses an undeclared field, an unknown operator or direction, or a bad limit, then it is refused', () => {
    expect(() => planQuery(spec, { limit: 0 })).toThrow(RangeError);
    expect(() => planQuery(spec, { limit: 10, where: [{ field: 'nope', op: 'eq', value: 1 }] })).toThrow();
    expect(() => planQuery(spec, { limit: 10, where: [{ field: 'n', op: 'like' as never, value: 1 }] })).toThrow(/Unknown filter op/);
    expect(() => planQuery(spec, { limit: 10, sort: { field: 'n', direction: 'up' as never } })).toThrow(/Unknown sort direction/);
    expect(() => planQuery(spec, { limit: 10, where: [{ field: 'n', op: 'eq', value: '1' }] })).toThrow(/finite number/);
    expect(planQuery(spec, { limit: 10, where: [{ field: 'n', op: 'gt', value: 1 }], sort: { field: 'at', direction: 'desc' } }).fingerprint).toMatch(/^[\w-]{16}$/);
  });
});
