import { randomInt } from 'node:crypto';
import { expect } from 'vitest';

/** A client address of its own, so that rate-limit buckets never leak between tests or runs. */
export const uniqueIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

/**
 * Raw fetch for what a typed client cannot send (malformed JSON, wrong methods, odd headers),
 * from a fresh client address unless the test gives one.
 */
export async function raw(url: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (!headers.has('x-forwarded-for')) headers.set('x-forwarded-for', uniqueIp());
  const res = await fetch(url, { ...init, headers });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, text, json: json as Record<string, unknown> };
}

/**
 * A raw caller of the API's `/v1` paths at `base()` (read on each call: stacks start in
 * beforeAll), as `user` (a bearer token) or anonymously, with a JSON body when one is given.
 */
export const v1Caller = (base: () => string) =>
  (user: { token: string } | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    raw(`${base()}/v1${path}`, {
      method,
      headers: { ...(user ? { authorization: `Bearer ${user.token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });

/** Asserts the RFC 9457 shape every 4xx/5xx must have, with the request id of the response. */
export function expectProblem(res: { status: number; headers: Headers; json: Record<string, unknown> }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.json).toMatchObject({ status, code, title: expect.any(String), type: expect.stringContaining('https://') });
  expect(res.json.request_id).toBe(res.headers.get('request-id'));
}
