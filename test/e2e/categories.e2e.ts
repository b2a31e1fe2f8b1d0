import { describe, expect, it } from 'vitest';
import { api, E2E, expectProblem, invalidToken, outcome, sendInvalid } from './support';

type Node = { id: string; depth: number; slug: string; children: Node[] };
const deepest = (nodes: Node[]): number => Math.max(-1, ...nodes.map((n) => Math.max(n.depth, deepest(n.children))));

describe('GET /v1/products/categories', () => {
  it('when called without parameters, then it returns the whole tree, top level first, with its validators', async () => {
    const { data, response } = await api().GET('/products/categories');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(data).toMatchObject({ object: 'list', has_more: false, next_cursor: null });
    expect(data!.data.length).toBeGreaterThanOrEqual(12);
    expect(data!.data.every((c) => c.depth === 0 && c.parent_id === null)).toBe(true);
    expect(deepest(data!.data)).toBeGreaterThanOrEqual(1);
    expect(response.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(response.headers.get('cache-control')).toContain('max-age');
  });

  it('when max_depth=0, then only top-level categories come back, with empty children and an ETag of their own', async () => {
    const full = await api().GET('/products/categories');
    const { data, response } = await api().GET('/products/categories', { params: { query: { max_depth: 0 } } });
    expect(response.status).toBe(200);
    expect(data!.data.map((c) => c.id)).toEqual(full.data!.data.map((c) => c.id));
    expect(data!.data.every((c) => c.depth === 0 && c.children.length === 0)).toBe(true);
    expect(response.headers.get('etag')).not.toBe(full.response.headers.get('etag'));
  });

  it('when If-None-Match carries the current ETag, then it answers 304 with no body and the same ETag; a stale one gets 200', async () => {
    const first = await api().GET('/products/categories');
    const etag = first.response.headers.get('etag')!;
    const again = await api().GET('/products/categories', { params: { header: { 'If-None-Match': etag } } });
    expect(again.response.status).toBe(304);
    expect(again.error ?? '').toBe('');
    expect(again.response.headers.get('etag')).toBe(etag);
    const stale = await api().GET('/products/categories', { params: { header: { 'If-None-Match': '"stale"' } } });
    expect(stale.response.status).toBe(200);
  });

  it('when max_depth is out of range or not an integer, then it is a 400 naming the parameter', async () => {
    for (const value of ['9', '-1', 'deep']) {
      const res = await sendInvalid('api', `/products/categories?max_depth=${value}`);
      expectProblem(res, 400, 'validation_failed');
      expect(res.body.errors).toContainEqual(expect.objectContaining({ parameter: 'max_depth', in: 'query' }));
    }
  });

  it('when an unknown query parameter is sent, then it is a 400 naming it', async () => {
    const res = await sendInvalid('api', '/products/categories?colour=red');
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors).toContainEqual(expect.objectContaining({ parameter: 'colour', in: 'query' }));
  });

  it('when the bearer token is invalid, then it is a 401 even though the operation is public', async () => {
    const res = await api({ token: invalidToken }).GET('/products/categories');
    expectProblem(outcome(res), 401, 'unauthenticated');
  });
});

describe('GET /v1/products/categories/{category_id}', () => {
  it('when the category exists, then it returns it with its sub-tree and a strong ETag', async () => {
    const tree = await api().GET('/products/categories');
    const parent = tree.data!.data.find((c) => c.children.length > 0)!;
    const { data, response } = await api().GET('/products/categories/{category_id}', { params: { path: { category_id: parent.id } } });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ id: parent.id, object: 'category', depth: 0, parent_id: null, slug: parent.slug });
    expect(data!.children.map((c) => c.id)).toEqual(parent.children.map((c) => c.id));
    expect(response.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
  });

  it('when If-None-Match carries its current ETag, then it answers 304 with no body', async () => {
    const path = { category_id: E2E.categoryId };
    const first = await api().GET('/products/categories/{category_id}', { params: { path } });
    const etag = first.response.headers.get('etag')!;
    const again = await api().GET('/products/categories/{category_id}', { params: { path, header: { 'If-None-Match': etag } } });
    expect(again.response.status).toBe(304);
    expect(again.error ?? '').toBe('');
    expect(again.response.headers.get('etag')).toBe(etag);
  });

  it('when no category has the id, then it is a 404 not_found', async () => {
    const res = await api().GET('/products/categories/{category_id}', { params: { path: { category_id: 'cat_0000000000000000' } } });
    expectProblem(outcome(res), 404, 'not_found');
  });

  it('when the id is malformed, then it is a 400 naming the path parameter', async () => {
    const res = await sendInvalid('api', '/products/categories/not-a-category');
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors).toContainEqual(expect.objectContaining({ parameter: 'category_id', in: 'path' }));
  });

  it('when the bearer token is invalid, then it is a 401', async () => {
    const res = await api({ token: invalidToken }).GET('/products/categories/{category_id}', { params: { path: { category_id: E2E.categoryId } } });
    expectProblem(outcome(res), 401, 'unauthenticated');
  });
});
