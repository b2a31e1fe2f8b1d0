import { randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api, E2E, expectProblem, invalidToken, outcome, sendInvalid } from './support';

const path = { category_id: E2E.categoryId };
const admin = () => api({ token: E2E.adminToken });

async function currentEtag(): Promise<string> {
  const { response } = await api().GET('/products/categories/{category_id}', { params: { path } });
  expect(response.status).toBe(200);
  return response.headers.get('etag')!;
}

describe('PATCH /v1/products/categories/{category_id}', () => {
  it('when an admin renames with the current ETag in If-Match, then the name changes everywhere at once and the old ETag gets 412', async () => {
    const before = await currentEtag();
    const name = `QA 이름 ${randomInt(1_000_000)}`;

    const renamed = await admin().PATCH('/products/categories/{category_id}', { params: { path, header: { 'If-Match': before } }, body: { name } });
    expect(renamed.response.status).toBe(200);
    expect(renamed.data).toMatchObject({ id: E2E.categoryId, object: 'category', name });
    const after = renamed.response.headers.get('etag')!;
    expect(after).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(after).not.toBe(before);

    const read = await api().GET('/products/categories/{category_id}', { params: { path } });
    expect(read.data!.name).toBe(name);
    expect(read.response.headers.get('etag')).toBe(after);
    const tree = await api().GET('/products/categories');
    const other = tree.data!.data.find((c) => c.slug === 'other')!;
    expect(other.children.find((c) => c.id === E2E.categoryId)?.name).toBe(name);

    const stale = await admin().PATCH('/products/categories/{category_id}', { params: { path, header: { 'If-Match': before } }, body: { name: 'QA 늦은 이름' } });
    expectProblem(outcome(stale), 412, 'precondition_failed');
    const unchanged = await api().GET('/products/categories/{category_id}', { params: { path } });
    expect(unchanged.data!.name).toBe(name);
  });

  it('when an admin reorders without If-Match, then the change is applied', async () => {
    const sort_order = 9000 + randomInt(1000);
    const res = await admin().PATCH('/products/categories/{category_id}', { params: { path }, body: { sort_order } });
    expect(res.response.status).toBe(200);
    expect(res.data!.sort_order).toBe(sort_order);
  });

  it('when no token is sent, then it is a 401', async () => {
    const res = await sendInvalid('api', `/products/categories/${E2E.categoryId}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'QA 익명' }),
    });
    expectProblem(res, 401, 'unauthenticated');
  });

  it('when the token is invalid, then it is a 401', async () => {
    const res = await api({ token: invalidToken }).PATCH('/products/categories/{category_id}', { params: { path }, body: { name: 'QA 위조' } });
    expectProblem(outcome(res), 401, 'unauthenticated');
  });

  it('when the caller is not an admin, then it is a 403 and nothing changes', async () => {
    const before = await currentEtag();
    const res = await api({ token: E2E.userToken }).PATCH('/products/categories/{category_id}', { params: { path }, body: { name: 'QA 일반 사용자' } });
    expectProblem(outcome(res), 403, 'forbidden');
    expect(await currentEtag()).toBe(before);
  });

  it('when no category has the id, then it is a 404', async () => {
    const res = await admin().PATCH('/products/categories/{category_id}', { params: { path: { category_id: 'cat_0000000000000000' } }, body: { name: 'QA 없음' } });
    expectProblem(outcome(res), 404, 'not_found');
  });

  it('when the body has a read-only field or no field at all, then it is a 400', async () => {
    for (const body of [{ name: 'QA', slug: 'renamed' }, {}]) {
      const res = await sendInvalid('api', `/products/categories/${E2E.categoryId}`, {
        method: 'PATCH',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${E2E.adminToken}` },
        body: JSON.stringify(body),
      });
      expectProblem(res, 400, 'validation_failed');
    }
  });
});
