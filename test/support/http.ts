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

/** Asserts the RFC 9457 shape every 4xx/5xx must have, with the request id of the response. */
export function expectProblem(res: { status: number; headers: Headers; json: Record<string, unknown> }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.json).toMatchObject({ status, code, title: expect.any(String), type: expect.stringContaining('https://') });
  expect(res.json.request_id).toBe(res.headers.get('request-id'));
}
