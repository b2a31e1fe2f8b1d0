import { expect } from 'vitest';

/** Raw fetch for what a typed client cannot send (malformed JSON, wrong methods, odd headers). */
export async function raw(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
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
