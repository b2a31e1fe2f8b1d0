import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { categoryId } from '../../src/modules/categories/domain/category-id';
import { CATEGORY_TREE_CACHE_KEY } from '../../src/modules/categories';
import { signAccessToken } from '../../src/platform/http/auth';
import { connectRedis } from '../../src/platform/redis';
import { startTestApi, tokenFor, type TestApi } from '../support/app';
import { staffAccounts, type SignedUpUser } from '../support/identity';
import { expectProblem, raw } from '../support/http';

const REQUIRED_TOP_LEVEL = ['디지털기기', '생활가전', '가구/인테리어', '유아동', '여성의류', '남성패션/잡화', '뷰티/미용', '스포츠/레저', '취미/게임/음반', '도서', '반려동물용품', '식물', '티켓/교환권', '기타 중고물품'];

let api: TestApi;
let db: Client;

/** A category of this test's own under 기타 중고물품, so edits never touch the shared reference tree. */
async function createOwnCategory(): Promise<{ id: string; path: string }> {
  const slug = `test-${randomUUID().slice(0, 8)}`;
  const path = `other/${slug}`;
  const id = categoryId(path);
  await db.query(
    `INSERT INTO categories (id, parent_id, name, slug, depth, path, sort_order) VALUES ($1, $2, $3, $4, 1, $5, 9000)`,
    [id, categoryId('other'), '테스트 분류', slug, path],
  );
  return { id, path };
}
const created: string[] = [];

/** Real admins (the edit checks the account's current roles); the second loses the role in a test. */
let admin: SignedUpUser;
let demoted: SignedUpUser;

beforeAll(async () => {
  [admin, demoted] = (await staffAccounts('admin', 2)) as [SignedUpUser, SignedUpUser];
  api = await startTestApi();
  db = new Client({ connectionString: api.config.DATABASE_URL });
  await db.connect();
});
afterAll(async () => {
  // Remove only what these tests created.
  if (created.length) await db.query('DELETE FROM categories WHERE id = ANY($1)', [created]);
  await db.end();
  await api.stop();
});

describe('GET /v1/products/categories', () => {
  it('when called, then it returns the whole Korean tree with leaves under each top-level category, in display order', async () => {
    const { data, response } = await api.client().GET('/products/categories');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(data!.object).toBe('list');
    expect(data!.has_more).toBe(false);
    const names = data!.data.map((c) => c.name);
    expect(names.length).toBeGreaterThanOrEqual(12);
    expect(names).toEqual(expect.arrayContaining(REQUIRED_TOP_LEVEL));
    const orders = data!.data.map((c) => c.sort_order);
    expect(orders).toEqual([...orders].sort((a, b) => a - b));
    const digital = data!.data.find((c) => c.slug === 'digital')!;
    expect(digital).toMatchObject({ depth: 0, parent_id: null, path: 'digital', object: 'category' });
    expect(digital.children.map((c) => c.name)).toContain('휴대폰');
    for (const child of digital.children) expect(child).toMatchObject({ parent_id: digital.id, depth: 1, path: `digital/${child.slug}` });
  });

  it('when called, then the response carries a strong ETag, Cache-Control, Request-Id and the rate-limit headers', async () => {
    const { response } = await api.client().GET('/products/categories');
    expect(response.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(response.headers.get('cache-control')).toContain('max-age');
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(response.headers.get('ratelimit-policy')).toMatch(/q=100; w=60/);
    expect(response.headers.get('ratelimit')).toMatch(/r=\d+; t=\d+/);
  });

  it('when If-None-Match carries the current ETag (strong or weak), then it answers 304 with no body', async () => {
    const client = api.client();
    const first = await client.GET('/products/categories');
    const etag = first.response.headers.get('etag')!;
    for (const value of [etag, `W/${etag}`, `"other", ${etag}`]) {
      const res = await raw(`${api.url}/v1/products/categories`, { headers: { 'If-None-Match': value } });
      expect(res.status).toBe(304);
      expect(res.text).toBe('');
      expect(res.headers.get('etag')).toBe(etag);
      // A cache refreshes its stored headers from a 304: the same Cache-Control as the 200.
      expect(res.headers.get('cache-control')).toBe(first.response.headers.get('cache-control'));
    }
    const stale = await raw(`${api.url}/v1/products/categories`, { headers: { 'If-None-Match': '"stale"' } });
    expect(stale.status).toBe(200);
  });

  it('when max_depth=0, then only top-level categories come back, each with no children, under their own ETag', async () => {
    const full = await api.client().GET('/products/categories');
    const top = await api.client().GET('/products/categories', { params: { query: { max_depth: 0 } } });
    expect(top.data!.data.length).toBe(full.data!.data.length);
    expect(top.data!.data.every((c) => c.children.length === 0)).toBe(true);
    expect(top.response.headers.get('etag')).not.toBe(full.response.headers.get('etag'));
  });

  it('when max_depth is out of range or not an integer, then 400 names the query parameter', async () => {
    for (const value of ['9', '-1', 'abc', '1.5']) {
      const res = await raw(`${api.url}/v1/products/categories?max_depth=${value}`);
      expectProblem(res, 400, 'validation_failed');
      expect(res.json.errors).toEqual([expect.objectContaining({ parameter: 'max_depth', in: 'query' })]);
    }
  });

  it('when served, then the bytes come from the Redis cache under the same ETag', async () => {
    const redis = await connectRedis(api.config.REDIS_URL);
    try {
      // Other test files change the tree (each change drops the cache): read until a read and
      // the look into Redis fall between two changes.
      const header = (cached: Buffer) => cached.subarray(0, cached.indexOf(10)).toString().split(' ');
      let response: Response | undefined;
      let cached: Buffer | null = null;
      for (let attempt = 0; attempt < 10 && (!cached || header(cached)[1] !== response?.headers.get('etag')); attempt++) {
        response = (await api.client().GET('/products/categories')).response;
        cached = await redis.hgetBuffer(`{${CATEGORY_TREE_CACHE_KEY}}`, 'depth-5');
      }
      expect(cached).not.toBeNull();
      // `<stored at, Redis ms> <etag>` before the bytes.
      const [storedAt, etag] = header(cached!);
      expect(etag).toBe(response!.headers.get('etag'));
      // Stamped with Redis's clock when stored: within the cache's lifetime (nothing need have
      // changed the tree for an hour: an earlier run on this machine may have stored it).
      const age = Date.now() - Number(storedAt);
      expect(age).toBeGreaterThan(-5_000);
      expect(age).toBeLessThan(api.config.CATEGORY_CACHE_TTL_SECONDS * 1000 + 5_000);
    } finally {
      await redis.quit();
    }
  });

  it('when another writer changes the tree in the database, then the cache is dropped (NOTIFY) and the new tree and ETag are served', async () => {
    const before = await api.client().GET('/products/categories');
    const own = await createOwnCategory();
    created.push(own.id);
    const deadline = Date.now() + 5000;
    let after = await api.client().GET('/products/categories');
    while (after.response.headers.get('etag') === before.response.headers.get('etag') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      after = await api.client().GET('/products/categories');
    }
    expect(after.response.headers.get('etag')).not.toBe(before.response.headers.get('etag'));
    const other = after.data!.data.find((c) => c.slug === 'other')!;
    expect(other.children.map((c) => c.id)).toContain(own.id);
    const revalidate = await raw(`${api.url}/v1/products/categories`, { headers: { 'If-None-Match': before.response.headers.get('etag')! } });
    expect(revalidate.status).toBe(200);
  });
});

describe('GET /v1/products/categories/{category_id}', () => {
  it('when the category exists, then it is returned with its sub-tree and an ETag that gives 304', async () => {
    const id = categoryId('digital');
    const { data, response } = await api.client().GET('/products/categories/{category_id}', { params: { path: { category_id: id } } });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ id, slug: 'digital', object: 'category' });
    expect(data!.children.length).toBeGreaterThan(5);
    const again = await raw(`${api.url}/v1/products/categories/${id}`, { headers: { 'If-None-Match': response.headers.get('etag')! } });
    expect(again.status).toBe(304);
    expect(again.headers.get('cache-control')).toBe('public, max-age=60, must-revalidate');
  });

  it('when no category has the id, then 404 not_found', async () => {
    const res = await raw(`${api.url}/v1/products/categories/cat_0000000000000000`);
    expectProblem(res, 404, 'not_found');
  });

  it('when the id is malformed, then 400 names the path parameter', async () => {
    const res = await raw(`${api.url}/v1/products/categories/not-an-id`);
    expectProblem(res, 400, 'validation_failed');
    expect(res.json.errors).toEqual([expect.objectContaining({ parameter: 'category_id', in: 'path' })]);
  });
});

describe('PATCH /v1/products/categories/{category_id}', () => {
  const patch = (id: string, body: unknown, headers: Record<string, string> = {}) =>
    raw(`${api.url}/v1/products/categories/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('when an admin renames a category with the current ETag, then it changes, the cached tree is dropped at once, and the new ETag differs', async () => {
    const own = await createOwnCategory();
    created.push(own.id);
    const current = await api.client().GET('/products/categories/{category_id}', { params: { path: { category_id: own.id } } });
    const treeBefore = await api.client().GET('/products/categories');

    const { data, response } = await api.client({ token: admin.token }).PATCH('/products/categories/{category_id}', {
      params: { path: { category_id: own.id }, header: { 'If-Match': current.response.headers.get('etag')! } },
      body: { name: '새 이름', sort_order: 9001 },
    });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ id: own.id, name: '새 이름', sort_order: 9001 });
    expect(response.headers.get('etag')).not.toBe(current.response.headers.get('etag'));

    const { rows } = await db.query('SELECT name, sort_order FROM categories WHERE id = $1', [own.id]);
    expect(rows[0]).toEqual({ name: '새 이름', sort_order: 9001 });
    const treeAfter = await api.client().GET('/products/categories');
    expect(treeAfter.response.headers.get('etag')).not.toBe(treeBefore.response.headers.get('etag'));
    const other = treeAfter.data!.data.find((c) => c.slug === 'other')!;
    expect(other.children.find((c) => c.id === own.id)?.name).toBe('새 이름');
  });

  it('when If-Match is stale, then 412 precondition_failed and nothing changes', async () => {
    const own = await createOwnCategory();
    created.push(own.id);
    const res = await patch(own.id, { name: '덮어쓰기' }, { authorization: `Bearer ${admin.token}`, 'If-Match': '"stale"' });
    expectProblem(res, 412, 'precondition_failed');
    const { rows } = await db.query('SELECT name FROM categories WHERE id = $1', [own.id]);
    expect(rows[0].name).toBe('테스트 분류');
  });

  it('when the caller is not an admin, then 403; without a token or with a bad one, then 401', async () => {
    const own = await createOwnCategory();
    created.push(own.id);
    const forbidden = await patch(own.id, { name: 'x' }, { authorization: `Bearer ${tokenFor(api.config, ['user'])}` });
    expectProblem(forbidden, 403, 'forbidden');
    expectProblem(await patch(own.id, { name: 'x' }), 401, 'unauthenticated');
    const valid = tokenFor(api.config, ['admin']);
    const [h, p] = valid.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: 'usr_x', sid: 's', roles: ['admin'], iss: 'junggo', exp: 9999999999 })).toString('base64url')}.${valid.split('.')[2]}`;
    const old = signAccessToken({ sub: 'usr_x', sid: 's', roles: ['admin'] }, { secret: api.config.JWT_SECRET, issuer: api.config.JWT_ISSUER }, -10);
    const otherKey = signAccessToken({ sub: 'usr_x', sid: 's', roles: ['admin'] }, { secret: 'another-secret-0123456789abcdef0123456789', issuer: api.config.JWT_ISSUER });
    for (const token of [none, tampered, old, otherKey, 'garbage']) {
      const res = await patch(own.id, { name: 'x' }, { authorization: `Bearer ${token}` });
      expectProblem(res, 401, 'unauthenticated');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    const { rows } = await db.query('SELECT name FROM categories WHERE id = $1', [own.id]);
    expect(rows[0].name).toBe('테스트 분류');
  });

  it('when the category does not exist, then 404', async () => {
    expectProblem(await patch('cat_0000000000000000', { name: 'x' }, { authorization: `Bearer ${admin.token}` }), 404, 'not_found');
  });

  it('when the admin role was taken away but the token still carries it, then 403 naming categories:edit (the account is checked as it is now), and nothing changes', async () => {
    const own = await createOwnCategory();
    created.push(own.id);
    await db.query(`UPDATE users SET roles = '{user}' WHERE id = $1`, [demoted.id]);
    const res = await patch(own.id, { name: '강등 후' }, { authorization: `Bearer ${demoted.token}` });
    expectProblem(res, 403, 'forbidden');
    expect(res.json.detail).toContain('categories:edit');
    // Nor does a token that names a role of an account that does not exist.
    expectProblem(await patch(own.id, { name: '유령' }, { authorization: `Bearer ${tokenFor(api.config, ['admin'])}` }), 403, 'forbidden');
    const { rows } = await db.query('SELECT name FROM categories WHERE id = $1', [own.id]);
    expect(rows[0].name).toBe('테스트 분류');
  });
});

describe('public operations and bearer tokens', () => {
  it('when a public operation is called with an invalid or expired token, then 401 rather than an anonymous answer; with a valid one, then 200', async () => {
    const expired = signAccessToken({ sub: 'usr_x', sid: 's', roles: [] }, { secret: api.config.JWT_SECRET, issuer: api.config.JWT_ISSUER }, -10);
    for (const token of [expired, 'not-a-jwt']) {
      const res = await raw(`${api.url}/v1/products/categories`, { headers: { authorization: `Bearer ${token}` } });
      expectProblem(res, 401, 'unauthenticated');
    }
    const ok = await raw(`${api.url}/v1/products/categories?max_depth=0`, { headers: { authorization: `Bearer ${tokenFor(api.config)}` } });
    expect(ok.status).toBe(200);
  });
});
