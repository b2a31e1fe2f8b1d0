import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type Redis from 'ioredis';
import { Client } from 'pg';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildApp } from '../../src/app';
import type { RequestContext } from '../../src/platform/context';
import { createFieldCipher, parseKeyRing } from '../../src/platform/crypto/field-cipher';
import { createSequelize } from '../../src/platform/db/sequelize';
import { inTransaction } from '../../src/platform/db/transaction';
import { AppError } from '../../src/platform/errors';
import { pruneIdempotencyKeys } from '../../src/platform/http/idempotency';
import { createMetrics } from '../../src/platform/http/metrics';
import type { HandlerMap } from '../../src/platform/http/operations';
import type { OpenApiDocument } from '../../src/platform/http/spec';
import { createLogger } from '../../src/platform/logger';
import { connectRedis } from '../../src/platform/redis';
import { tokenFor } from '../support/app';
import { testConfig } from '../support/env';
import { expectProblem, raw, uniqueIp } from '../support/http';

// There is no POST in the spec yet, so the real app (buildApp: validator, auth, rate limit,
// error handler) is built here from a small document of its own, with the real Idempotency-Key
// parameter component, against the real database.

const keyParameter = parseYaml(readFileSync(path.resolve(__dirname, '../../openapi/components/parameters/IdempotencyKey.yaml'), 'utf8')) as Record<string, unknown>;

const noteBody = {
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: {
    text: { type: 'string', minLength: 1, maxLength: 200 },
    mode: { type: 'string', enum: ['ok', 'reject', 'too-soon-once', 'crash-once', 'gate', 'slow'] },
    tags: { type: 'object', additionalProperties: { type: 'string' } },
  },
};
const noteResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'text', 'nonce'],
  properties: { id: { type: 'string' }, text: { type: 'string' }, nonce: { type: 'string' } },
};
const created = (description: string) => ({
  description,
  headers: { ETag: { schema: { type: 'string' } }, Location: { schema: { type: 'string' } } },
  content: { 'application/json': { schema: noteResponse } },
});
const post = (operationId: string, parameters: unknown[], extra: Record<string, unknown> = {}) => ({
  operationId,
  parameters,
  requestBody: { required: true, content: { 'application/json': { schema: noteBody } } },
  responses: { '201': created('Created') },
  ...extra,
});

const document = {
  openapi: '3.1.0',
  info: { title: 'idempotency test', version: '1.0.0' },
  servers: [{ url: '/v1' }],
  security: [{}, { bearerAuth: [] }],
  components: {
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } },
    parameters: {
      IdempotencyKey: keyParameter,
      // What money-moving operations will declare.
      IdempotencyKeyRequired: { ...keyParameter, required: true },
      Source: { name: 'source', in: 'query', required: false, schema: { type: 'string' } },
    },
  },
  paths: {
    '/notes': { post: post('createNote', [{ $ref: '#/components/parameters/IdempotencyKey' }, { $ref: '#/components/parameters/Source' }]) },
    '/notes/{note_id}/copies': {
      parameters: [{ name: 'note_id', in: 'path', required: true, schema: { type: 'string' } }],
      post: post('copyNote', [{ $ref: '#/components/parameters/IdempotencyKey' }]),
    },
    '/payments': { post: post('createPayment', [{ $ref: '#/components/parameters/IdempotencyKeyRequired' }], { security: [{ bearerAuth: [] }] }) },
    '/plain-notes': { post: post('createPlainNote', []) },
  },
} as unknown as OpenApiDocument;

type Input = { ctx: RequestContext; path: Record<string, string>; body: { text: string; mode?: string } };

let sequelize: Sequelize;
let redis: Redis;
let server: Server;
let db: Client;
let base: string;
const table = `idempotency_test_notes_${randomUUID().slice(0, 8)}`;
const config = testConfig();

/** Handler runs by note text: what the database cannot tell (a run whose writes were rolled back). */
const runs = new Map<string, number>();
const gates = new Map<string, { entered: () => void; release: Promise<void> }>();

async function createNote({ ctx, body }: Input) {
  runs.set(body.text, (runs.get(body.text) ?? 0) + 1);
  const id = `note_${randomUUID()}`;
  // As a use case would: joining the request's transaction when there is one.
  await inTransaction(sequelize, ctx, (t) => sequelize.query(`INSERT INTO ${table} (id, text) VALUES ($1, $2)`, { bind: [id, body.text], transaction: t }));
  if (body.mode === 'reject') throw new AppError(409, 'note_conflict', 'Note conflict', 'This note conflicts with another.', [], { 'Retry-After': '7' });
  if (body.mode === 'crash-once' && runs.get(body.text) === 1) throw new Error('the database went away');
  if (body.mode === 'too-soon-once' && runs.get(body.text) === 1) throw new AppError(429, 'note_too_soon', 'Too soon', 'Come back in a second.', [], { 'Retry-After': '1' });
  if (body.mode === 'slow') await new Promise((r) => setTimeout(r, 150));
  const gate = gates.get(body.text);
  if (body.mode === 'gate' && gate) {
    gate.entered();
    await gate.release;
  }
  return { status: 201, headers: { ETag: `"${id}"`, Location: `/v1/notes/${id}` }, body: { id, text: body.text, nonce: randomUUID() } };
}

beforeAll(async () => {
  const log = createLogger('silent', 'test');
  sequelize = createSequelize({ url: config.DATABASE_URL, poolMax: 4 }, log);
  db = new Client({ connectionString: config.DATABASE_URL });
  await db.connect();
  await db.query(`CREATE TABLE ${table} (id text PRIMARY KEY, text text NOT NULL)`);
  redis = await connectRedis(config.REDIS_URL);
  const handlers = { createNote, copyNote: createNote, createPayment: createNote, createPlainNote: createNote } as unknown as HandlerMap;
  const app = buildApp({
    config,
    log,
    spec: { document, publicJson: Buffer.from('{}'), publicYaml: Buffer.from(''), docsHtml: Buffer.from('') },
    redis,
    metrics: createMetrics(),
    checks: [],
    queues: [],
    handlers,
    idempotency: sequelize,
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await redis.quit();
  await db.query(`DROP TABLE ${table}`);
  await db.query('DELETE FROM idempotency_keys WHERE key = ANY($1)', [[...keys]]);
  await db.end();
  await sequelize.close();
});

const keys = new Set<string>();
const newKey = () => {
  const key = `test-${randomUUID()}`;
  keys.add(key);
  return key;
};
const newText = () => `note ${randomUUID()}`;

function send(route: string, body: unknown, opts: { key?: string; token?: string; ip?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-forwarded-for': opts.ip ?? uniqueIp() };
  if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return raw(`${base}${route}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

const notesWithText = async (text: string) => Number((await db.query(`SELECT count(*) AS n FROM ${table} WHERE text = $1`, [text])).rows[0].n);
const storedRows = (key: string) =>
  db.query<{ principal: string; status: number; headers: Record<string, string>; route: string; method: string; response_enc: string | null; created_at: Date; expires_at: Date }>(
    'SELECT principal, status, headers, route, method, response_enc, created_at, expires_at FROM idempotency_keys WHERE key = $1',
    [key],
  );
/** A stored answer opened as the server would: the personal-data cipher, bound to (principal, key). */
const unsealed = (principal: string, key: string, sealed: string) =>
  JSON.parse(createFieldCipher(parseKeyRing(config.FIELD_ENCRYPTION_KEYS)).decrypt(sealed, `idempotency_keys.response:${JSON.stringify([principal, key])}`)) as {
    status: number;
    headers: Record<string, string>;
    body: string;
  };
/** What the previous release stored as a fingerprint: SHA-256 of the canonical request, here with no path parameters and no query. */
const sha256Fingerprint = (body: unknown) => createHash('sha256').update(`{"body":${JSON.stringify(body)},"path":{},"query":[]}`).digest('hex');

describe('POST with an Idempotency-Key', () => {
  it('when a completed request is retried with the same key and body, then the stored response is replayed byte for byte with Idempotent-Replayed: true, and the handler runs once', async () => {
    const key = newKey();
    const text = newText();
    const first = await send('/notes', { text, tags: { a: '1', b: '2' } }, { key });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const again = await send('/notes', { text, tags: { a: '1', b: '2' } }, { key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    for (const name of ['etag', 'location', 'content-type', 'content-length']) expect(again.headers.get(name)).toBe(first.headers.get(name));
    // Platform headers are the replay's own.
    expect(again.headers.get('request-id')).not.toBe(first.headers.get('request-id'));
    expect(again.headers.get('ratelimit')).toMatch(/r=\d+/);

    expect(runs.get(text)).toBe(1);
    expect(await notesWithText(text)).toBe(1);
    const [row] = (await storedRows(key)).rows;
    expect(row).toMatchObject({ principal: 'anonymous', status: 201, method: 'POST', route: '/notes' });
    expect(Object.keys(unsealed('anonymous', key, row!.response_enc!).headers).sort()).toEqual(['Content-Type', 'ETag', 'Location']);
    const retentionHours = (row!.expires_at.getTime() - row!.created_at.getTime()) / 3_600_000;
    expect(retentionHours).toBeCloseTo(24, 5);
  });

  it('when the retry sends the same body with its keys in another order, then it is the same request and is replayed', async () => {
    const key = newKey();
    const text = newText();
    const first = await send('/notes', `{"text":${JSON.stringify(text)},"tags":{"a":"1","b":"2"}}`, { key });
    const again = await send('/notes', `{"tags":{"b":"2","a":"1"},"text":${JSON.stringify(text)}}`, { key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect(runs.get(text)).toBe(1);
  });

  it('when the same key comes with another body, query, path parameter or route, then 422 idempotency_key_reused and nothing runs', async () => {
    const key = newKey();
    const text = newText();
    expect((await send('/notes?source=app', { text }, { key })).status).toBe(201);
    expect((await send('/notes?source=app', { text }, { key })).headers.get('idempotent-replayed')).toBe('true');

    expectProblem(await send('/notes?source=app', { text: `${text} changed` }, { key }), 422, 'idempotency_key_reused');
    expectProblem(await send('/notes?source=web', { text }, { key }), 422, 'idempotency_key_reused');
    expectProblem(await send('/notes', { text }, { key }), 422, 'idempotency_key_reused');
    expectProblem(await send('/notes/n1/copies', { text }, { key }), 422, 'idempotency_key_reused');
    expect(runs.get(text)).toBe(1);
    expect(runs.get(`${text} changed`)).toBeUndefined();

    // The same route with another path parameter is another request too.
    const copyKey = newKey();
    const copyText = newText();
    expect((await send('/notes/n1/copies', { text: copyText }, { key: copyKey })).status).toBe(201);
    expectProblem(await send('/notes/n2/copies', { text: copyText }, { key: copyKey }), 422, 'idempotency_key_reused');
    expect(runs.get(copyText)).toBe(1);
  });

  it('when the handler fails with a 4xx, then its writes are rolled back, the problem is stored, and a retry gets the same 4xx replayed without running it again', async () => {
    const key = newKey();
    const text = newText();
    const first = await send('/notes', { text, mode: 'reject' }, { key });
    expectProblem(first, 409, 'note_conflict');
    expect(first.headers.get('retry-after')).toBe('7');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(await notesWithText(text)).toBe(0);
    expect((await storedRows(key)).rows[0]).toMatchObject({ status: 409 });

    const again = await send('/notes', { text, mode: 'reject' }, { key });
    expect(again.status).toBe(409);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(again.headers.get('retry-after')).toBe('7');
    // Byte for byte: the body still names the request that produced it.
    expect(again.text).toBe(first.text);
    expect(again.json.request_id).toBe(first.headers.get('request-id'));
    expect(runs.get(text)).toBe(1);
    expect(await notesWithText(text)).toBe(0);
  });

  it('when the handler refuses with 429 and Retry-After (e.g. bump_too_soon), then nothing is stored: the retry the header invites runs with the same key', async () => {
    const key = newKey();
    const text = newText();
    const first = await send('/notes', { text, mode: 'too-soon-once' }, { key });
    expectProblem(first, 429, 'note_too_soon');
    expect(first.headers.get('retry-after')).toBe('1');
    expect((await storedRows(key)).rowCount).toBe(0);

    const retry = await send('/notes', { text, mode: 'too-soon-once' }, { key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(runs.get(text)).toBe(2);
    expect(await notesWithText(text)).toBe(1);
  });

  it('when the handler fails unexpectedly (500), then its writes are rolled back, nothing is stored, and a retry runs it again', async () => {
    const key = newKey();
    const text = newText();
    expectProblem(await send('/notes', { text, mode: 'crash-once' }, { key }), 500, 'internal_error');
    expect(await notesWithText(text)).toBe(0);
    expect((await storedRows(key)).rowCount).toBe(0);

    const retry = await send('/notes', { text, mode: 'crash-once' }, { key });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(runs.get(text)).toBe(2);
    expect(await notesWithText(text)).toBe(1);
    expect((await storedRows(key)).rows[0]).toMatchObject({ status: 201 });
  });

  it('when the request is rejected before the handler (validation, authentication), then nothing is stored and a corrected request with the same key runs', async () => {
    const key = newKey();
    const text = newText();
    expectProblem(await send('/notes', { text, unknown: true }, { key }), 400, 'validation_failed');
    expect((await storedRows(key)).rowCount).toBe(0);
    const fixed = await send('/notes', { text }, { key });
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('idempotent-replayed')).toBeNull();

    const paymentKey = newKey();
    expectProblem(await send('/payments', { text: newText() }, { key: paymentKey }), 401, 'unauthenticated');
    expectProblem(await send('/payments', { text: newText() }, { key: paymentKey, token: 'not-a-token' }), 401, 'unauthenticated');
    expect((await storedRows(paymentKey)).rowCount).toBe(0);
  });

  it('when another principal uses the same key, then it is a different key: user B and anonymous callers cannot replay user A’s response', async () => {
    const key = newKey();
    const text = newText();
    const userA = `usr_${randomUUID()}`;
    const tokenA = tokenFor(config, [], userA);
    const tokenB = tokenFor(config);
    const a = await send('/notes', { text }, { key, token: tokenA });
    const b = await send('/notes', { text }, { key, token: tokenB });
    const anonymous = await send('/notes', { text }, { key });
    for (const res of [a, b, anonymous]) {
      expect(res.status).toBe(201);
      expect(res.headers.get('idempotent-replayed')).toBeNull();
    }
    expect(new Set([a.json.id, b.json.id, anonymous.json.id]).size).toBe(3);
    expect(runs.get(text)).toBe(3);

    const replayA = await send('/notes', { text }, { key, token: tokenA });
    expect(replayA.headers.get('idempotent-replayed')).toBe('true');
    expect(replayA.text).toBe(a.text);
    const principals = (await storedRows(key)).rows.map((r) => r.principal);
    expect(principals).toHaveLength(3);
    expect(principals).toEqual(expect.arrayContaining(['anonymous', userA]));
  });

  it('when a stored key has expired, then it is ignored (the request runs again) and prune deletes expired keys only', async () => {
    const key = newKey();
    const text = newText();
    expect((await send('/notes', { text }, { key })).status).toBe(201);
    await db.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [key]);

    // Even with another body: the expired key is free again.
    const other = newText();
    const again = await send('/notes', { text: other }, { key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(runs.get(other)).toBe(1);
    const [row] = (await storedRows(key)).rows;
    expect(row!.expires_at.getTime()).toBeGreaterThan(Date.now());

    const expiredKey = newKey();
    const liveKey = newKey();
    await db.query(
      `INSERT INTO idempotency_keys (principal, key, method, route, fingerprint, status, body, expires_at) VALUES
         ('anonymous', $1, 'POST', '/notes', 'x', 201, '\\x7b7d', now() - interval '1 minute'),
         ('anonymous', $2, 'POST', '/notes', 'x', 201, '\\x7b7d', now() + interval '1 minute')`,
      [expiredKey, liveKey],
    );
    expect(await pruneIdempotencyKeys(sequelize)).toBeGreaterThanOrEqual(1);
    expect((await storedRows(expiredKey)).rowCount).toBe(0);
    expect((await storedRows(liveKey)).rowCount).toBe(1);
    expect((await storedRows(key)).rowCount).toBe(1);
  });

  it('when the operation does not declare Idempotency-Key, then the header is ignored: every request runs and nothing is stored', async () => {
    const key = newKey();
    const text = newText();
    const first = await send('/plain-notes', { text }, { key });
    const second = await send('/plain-notes', { text }, { key });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(second.json.id).not.toBe(first.json.id);
    expect(runs.get(text)).toBe(2);
    expect((await storedRows(key)).rowCount).toBe(0);
  });

  it('when the operation requires the key and it is missing, then 400 idempotency_key_required before validation and nothing runs', async () => {
    const token = tokenFor(config);
    const text = newText();
    const missing = await send('/payments', { text }, { token });
    expectProblem(missing, 400, 'idempotency_key_required');
    expect(missing.json.errors).toEqual([expect.objectContaining({ parameter: 'Idempotency-Key', in: 'header', code: 'missing_field' })]);
    expectProblem(await send('/payments', { text }, { token, key: '' }), 400, 'idempotency_key_required');
    // A missing key is named even when the body is wrong too.
    expectProblem(await send('/payments', { text, unknown: 1 }, { token }), 400, 'idempotency_key_required');
    expect(runs.get(text)).toBeUndefined();

    // With a key, the rest is validated as usual, then it runs.
    const key = newKey();
    expectProblem(await send('/payments', { text, unknown: 1 }, { token, key }), 400, 'validation_failed');
    expect((await send('/payments', { text }, { token, key: 'has space' })).json.code).toBe('validation_failed');
    expect((await send('/payments', { text }, { token, key })).status).toBe(201);
    expect((await send('/payments', { text }, { token, key })).headers.get('idempotent-replayed')).toBe('true');
    expect(runs.get(text)).toBe(1);
  });
});

describe('stored Idempotency-Key answers at rest', () => {
  it('when a request carries an e-mail (also in its answer) and a password, then the stored row holds neither, its fingerprint is not the SHA-256 of the request and differs per principal, and the retry is still replayed', async () => {
    const key = newKey();
    const email = `minsu.${randomUUID().slice(0, 8)}@example.com`;
    const password = `Junggo-${randomUUID()}`;
    // Keys already in canonical (sorted) order, so the previous release's fingerprint is computable here.
    const body = { tags: { password }, text: email };
    const first = await send('/notes', body, { key });
    expect(first.status).toBe(201);
    expect(first.json.text).toBe(email);

    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM idempotency_keys WHERE principal = $1 AND key = $2', ['anonymous', key]);
    expect(rows).toHaveLength(1);
    for (const [column, value] of Object.entries(rows[0]!)) {
      const bytes = Buffer.isBuffer(value) ? value : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
      expect(bytes.includes(email), `${column} holds the e-mail`).toBe(false);
      expect(bytes.includes(password), `${column} holds the password`).toBe(false);
    }
    const fingerprint = rows[0]!.fingerprint as string;
    expect(fingerprint).not.toBe(sha256Fingerprint(body));
    // The answer is there, sealed with the personal-data cipher for this principal and key.
    const sealed = unsealed('anonymous', key, rows[0]!.response_enc as string);
    expect(sealed.status).toBe(201);
    expect(Buffer.from(sealed.body, 'base64').toString('utf8')).toBe(first.text);

    // The same request and key from a signed-in user is fingerprinted apart.
    const userId = `usr_${randomUUID()}`;
    expect((await send('/notes', body, { key, token: tokenFor(config, [], userId) })).status).toBe(201);
    const [theirs] = (await db.query<{ fingerprint: string }>('SELECT fingerprint FROM idempotency_keys WHERE principal = $1 AND key = $2', [userId, key])).rows;
    expect(theirs!.fingerprint).not.toBe(fingerprint);

    const again = await send('/notes', body, { key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    for (const name of ['etag', 'location', 'content-type']) expect(again.headers.get(name)).toBe(first.headers.get(name));
    expect(runs.get(email)).toBe(2);
  });

  it('when a stored answer is copied onto another principal’s or another key’s row, then it does not decrypt there: the retry gets 500 internal_error, sees nothing of it and does not run again; a row copied whole to another principal does not match their request (422)', async () => {
    const text = newText();
    const key = newKey();
    const otherKey = newKey();
    const [userA, userB, userC] = [`usr_${randomUUID()}`, `usr_${randomUUID()}`, `usr_${randomUUID()}`];
    const [tokenA, tokenB, tokenC] = [userA, userB, userC].map((u) => tokenFor(config, [], u));
    const a = await send('/notes', { text }, { key, token: tokenA });
    expect((await send('/notes', { text }, { key, token: tokenB })).status).toBe(201);
    expect((await send('/notes', { text }, { key: otherKey, token: tokenA })).status).toBe(201);
    expect(runs.get(text)).toBe(3);

    // Whatever holds A's answer, moved onto B's row (same key) and onto A's row of another key.
    await db.query(
      `UPDATE idempotency_keys t SET headers = a.headers, body = a.body, response_enc = a.response_enc
         FROM idempotency_keys a
        WHERE a.principal = $1 AND a.key = $2 AND ((t.principal = $3 AND t.key = $2) OR (t.principal = $1 AND t.key = $4))`,
      [userA, key, userB, otherKey],
    );
    const movedToPrincipal = await send('/notes', { text }, { key, token: tokenB });
    const movedToKey = await send('/notes', { text }, { key: otherKey, token: tokenA });
    for (const res of [movedToPrincipal, movedToKey]) {
      expectProblem(res, 500, 'internal_error');
      expect(res.headers.get('idempotent-replayed')).toBeNull();
      expect(res.text).not.toContain(a.json.id as string);
    }

    await db.query(
      `INSERT INTO idempotency_keys (principal, key, method, route, fingerprint, status, headers, body, response_enc, created_at, expires_at)
       SELECT $3, key, method, route, fingerprint, status, headers, body, response_enc, created_at, expires_at FROM idempotency_keys WHERE principal = $1 AND key = $2`,
      [userA, key, userC],
    );
    expectProblem(await send('/notes', { text }, { key, token: tokenC }), 422, 'idempotency_key_reused');

    expect(runs.get(text)).toBe(3);
    expect(await notesWithText(text)).toBe(3);
    // The answer still replays on its own row.
    const replayA = await send('/notes', { text }, { key, token: tokenA });
    expect(replayA.headers.get('idempotent-replayed')).toBe('true');
    expect(replayA.text).toBe(a.text);
  });

  it('when a row of the previous release (plain answer, SHA-256 fingerprint) is still live, then its request is replayed from it byte for byte without running, and another request with its key gets 422 idempotency_key_reused', async () => {
    const key = newKey();
    const text = newText();
    const answer = Buffer.from(JSON.stringify({ id: `note_${randomUUID()}`, text, nonce: 'stored by the previous release' }));
    const headers = { 'Content-Type': 'application/json', ETag: '"legacy"', Location: '/v1/notes/legacy' };
    await db.query(
      `INSERT INTO idempotency_keys (principal, key, method, route, fingerprint, status, headers, body, expires_at)
       VALUES ('anonymous', $1, 'POST', '/notes', $2, 201, $3, $4, now() + interval '23 hours')`,
      [key, sha256Fingerprint({ text }), JSON.stringify(headers), answer],
    );

    const replay = await send('/notes', { text }, { key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(answer.toString('utf8'));
    expect(replay.headers.get('etag')).toBe('"legacy"');
    expect(replay.headers.get('location')).toBe('/v1/notes/legacy');

    expectProblem(await send('/notes', { text: `${text} changed` }, { key }), 422, 'idempotency_key_reused');
    expectProblem(await send('/notes?source=app', { text }, { key }), 422, 'idempotency_key_reused');
    expect(runs.get(text)).toBeUndefined();
    expect(runs.get(`${text} changed`)).toBeUndefined();
  });

  it('when a process of the previous release replaced an expired sealed row (its plain answer and SHA-256 fingerprint beside the old sealed one), then the retry is replayed from the plain answer', async () => {
    const key = newKey();
    const text = newText();
    const answer = Buffer.from(JSON.stringify({ id: `note_${randomUUID()}`, text }));
    // What its ON CONFLICT … DO UPDATE leaves: every column it knows replaced, response_enc not.
    await db.query(
      `INSERT INTO idempotency_keys (principal, key, method, route, fingerprint, status, headers, body, response_enc, expires_at)
       VALUES ('anonymous', $1, 'POST', '/notes', $2, 201, $3, $4, 'v1:stale-sealed-answer', now() + interval '23 hours')`,
      [key, sha256Fingerprint({ text }), JSON.stringify({ 'Content-Type': 'application/json' }), answer],
    );
    const replay = await send('/notes', { text }, { key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(answer.toString('utf8'));
    expect(runs.get(text)).toBeUndefined();
  });
});

describe('concurrent requests with one Idempotency-Key', () => {
  it('when a retry arrives while the first request is still running, then it gets 409 idempotency_request_in_progress with Retry-After, and after the first completes a retry gets its replay', async () => {
    const key = newKey();
    const text = newText();
    let entered!: () => void;
    let release!: () => void;
    const inHandler = new Promise<void>((r) => (entered = r));
    gates.set(text, { entered, release: new Promise<void>((r) => (release = r)) });

    const first = send('/notes', { text, mode: 'gate' }, { key });
    await inHandler;
    const during = await send('/notes', { text, mode: 'gate' }, { key });
    expectProblem(during, 409, 'idempotency_request_in_progress');
    expect(during.headers.get('retry-after')).toBe('1');
    // Another principal is not blocked by this key.
    expect((await send('/notes', { text: newText() }, { key, token: tokenFor(config) })).status).toBe(201);

    release();
    const done = await first;
    expect(done.status).toBe(201);
    const after = await send('/notes', { text, mode: 'gate' }, { key });
    expect(after.headers.get('idempotent-replayed')).toBe('true');
    expect(after.text).toBe(done.text);
    expect(runs.get(text)).toBe(1);
    expect(await notesWithText(text)).toBe(1);
  });

  it('when many identical requests race, then exactly one runs the handler and each other one gets 409 or the replay', async () => {
    const key = newKey();
    const text = newText();
    const ip = uniqueIp();
    const results = await Promise.all(Array.from({ length: 8 }, () => send('/notes', { text, mode: 'slow' }, { key, ip })));
    const originals = results.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null);
    const replays = results.filter((r) => r.headers.get('idempotent-replayed') === 'true');
    const inProgress = results.filter((r) => r.status === 409);
    expect(originals).toHaveLength(1);
    expect(replays.length + inProgress.length).toBe(7);
    expect(inProgress.length).toBeGreaterThan(0);
    for (const r of replays) expect(r.text).toBe(originals[0]!.text);
    for (const r of inProgress) expect(r.json.code).toBe('idempotency_request_in_progress');
    expect(runs.get(text)).toBe(1);
    expect(await notesWithText(text)).toBe(1);
  });
});

describe('inTransaction', () => {
  const ctxWith = (transaction?: Transaction) => ({ transaction });
  const insert = (t: Transaction, text: string) => sequelize.query(`INSERT INTO ${table} (id, text) VALUES ($1, $2)`, { bind: [randomUUID(), text], transaction: t });
  const count = async (text: string, t?: Transaction) =>
    Number((await sequelize.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE text = $1`, { bind: [text], type: QueryTypes.SELECT, transaction: t ?? null }))[0]!.n);

  it('when the context has no transaction, then the work runs in a transaction of its own and commits', async () => {
    const text = newText();
    const seen = await inTransaction(sequelize, ctxWith(), async (t) => {
      await insert(t, text);
      return notesWithText(text); // another connection: not yet committed
    });
    expect(seen).toBe(0);
    expect(await notesWithText(text)).toBe(1);
  });

  it('when the context has a transaction, then the work joins it as a savepoint: its failure undoes only its own writes, even nested, and nothing is visible before the outer commit', async () => {
    const outer = newText();
    const inner = newText();
    const nested = newText();
    await sequelize.transaction(async (parent) => {
      await insert(parent, outer);
      const failing = inTransaction(sequelize, ctxWith(parent), async (sp) => {
        await insert(sp, inner);
        // A nested level that succeeds, then its enclosing level fails: both are undone.
        await inTransaction(sequelize, ctxWith(sp), (nestedSp) => insert(nestedSp, nested));
        expect(await count(nested, sp)).toBe(1);
        throw new Error('use case failed');
      });
      await expect(failing).rejects.toThrow('use case failed');
      expect(await count(outer, parent)).toBe(1);
      expect(await count(inner, parent)).toBe(0);
      expect(await count(nested, parent)).toBe(0);
      await inTransaction(sequelize, ctxWith(parent), (sp) => insert(sp, inner));
      expect(await notesWithText(inner)).toBe(0);
    });
    expect(await notesWithText(outer)).toBe(1);
    expect(await notesWithText(inner)).toBe(1);
    expect(await notesWithText(nested)).toBe(0);
  });

  it('when work inside a request transaction registers afterCommit, then it runs after the outer commit, and not at all if its savepoint was rolled back', async () => {
    const events: string[] = [];
    await sequelize.transaction(async (parent) => {
      await inTransaction(sequelize, ctxWith(parent), async (sp) => {
        await inTransaction(sequelize, ctxWith(sp), async (nestedSp) => nestedSp.afterCommit(() => void events.push('kept')));
      });
      await inTransaction(sequelize, ctxWith(parent), async (sp) => {
        sp.afterCommit(() => void events.push('rolled back'));
        throw new Error('no');
      }).catch(() => undefined);
      events.push('before commit');
    });
    expect(events).toEqual(['before commit', 'kept']);
  });
});
