import express from 'express';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/platform/logger';
import { errorHandler } from '../../src/platform/http/problem';

// The one error path on a real Express app: each kind of failure a route can throw, and the
// problem+json a client then receives.

let server: Server;
let base: string;
const thrown = new Map<string, unknown>();

beforeAll(async () => {
  const app = express();
  app.use((req, res, next) => {
    res.locals.requestId = 'req_test';
    if (req.headers['x-actor']) res.locals.ctx = { actor: { userId: req.headers['x-actor'] }, log: createLogger('silent', 'test') };
    next();
  });
  app.get('/throw/:name', (req) => {
    throw thrown.get(req.params.name);
  });
  app.use(errorHandler(createLogger('silent', 'test')));
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

async function problemFor(err: unknown, headers: Record<string, string> = {}) {
  const name = `e${thrown.size}`;
  thrown.set(name, err);
  const res = await fetch(`${base}/throw/${name}`, { headers });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return { status: res.status, body: (await res.json()) as { code: string; errors?: { pointer?: string; parameter?: string; in?: string; code: string }[]; detail: string; request_id: string } };
}

describe('problem+json from validator errors', () => {
  it('when the validator reports each kind of status, then the documented code comes back', async () => {
    for (const [status, code] of [[404, 'not_found'], [405, 'method_not_allowed'], [406, 'not_acceptable'], [413, 'payload_too_large'], [415, 'unsupported_media_type']] as const) {
      const p = await problemFor({ status, errors: [] });
      expect([p.status, p.body.code]).toEqual([status, code]);
    }
    // A validator 500 is a response that departs from the spec: hidden behind the generic 500.
    const mismatch = await problemFor({ status: 500, errors: [{ path: '/response/x', message: 'bad' }] });
    expect([mismatch.status, mismatch.body.code, mismatch.body.request_id]).toEqual([500, 'internal_error', 'req_test']);
    expect(mismatch.body.detail).not.toMatch(/response/);
  });

  it('when a 400 names body fields, parameters, unknown fields and places it does not know, then each becomes a field error', async () => {
    const p = await problemFor({
      status: 400,
      errors: [
        { path: '/body/price', message: 'must be >= 0', errorCode: 'minimum.openapi.validation' },
        { path: '/body', message: 'must NOT have additional properties' },
        { path: '/body/seller_id', message: 'must NOT have additional properties' },
        { path: '/query/sort', message: 'must be equal to one of the allowed values', errorCode: 'enum.openapi.validation' },
        { path: '/query/colour', message: 'Unknown query parameter colour' },
        { path: '/headers/if-match', message: 'must match pattern', errorCode: 'pattern.openapi.validation' },
        { path: '/cookies/session', message: 'odd', errorCode: 'unheard.of' },
        { path: '/elsewhere', message: 'must be string', errorCode: 'type.openapi.validation' },
        { path: '/elsewhere', message: 'odd' },
      ],
    });
    expect(p.status).toBe(400);
    expect(p.body.errors).toEqual([
      { pointer: '/price', code: 'out_of_range', detail: 'must be >= 0' },
      { pointer: '', code: 'unknown_field', detail: "'' is not a writable field of this request." },
      { pointer: '/seller_id', code: 'unknown_field', detail: "'seller_id' is not a writable field of this request." },
      { parameter: 'sort', in: 'query', code: 'invalid_value', detail: 'must be equal to one of the allowed values' },
      { parameter: 'colour', in: 'query', code: 'unknown_parameter', detail: 'Unknown query parameter colour' },
      { parameter: 'if-match', in: 'header', code: 'invalid_format', detail: 'must match pattern' },
      { parameter: 'session', in: 'cookie', code: 'invalid_value', detail: 'odd' },
      { code: 'invalid_type', detail: 'must be string' },
      { code: 'invalid_value', detail: 'odd' },
    ]);
  });
});

describe('problem+json from database errors', () => {
  const missingUser = (id: string) => ({ parent: { code: '23503', detail: `Key (user_id)=(${id}) is not present in table "users".` } });

  it("when a write meets the foreign key of the caller's own missing account, then 401; any other such error stays a 500", async () => {
    expect((await problemFor(missingUser('usr_GONE'), { 'x-actor': 'usr_GONE' })).body.code).toBe('unauthenticated');
    expect((await problemFor(missingUser('usr_OTHER'), { 'x-actor': 'usr_GONE' })).status).toBe(500);
    expect((await problemFor(missingUser('usr_GONE'))).status).toBe(500);
    expect((await problemFor({ code: '23503', detail: 42 }, { 'x-actor': 'usr_GONE' })).status).toBe(500);
    expect((await problemFor('a string', { 'x-actor': 'usr_GONE' })).status).toBe(500);
  });
});
