import { randomBytes } from 'node:crypto';
import { categoryId } from '../../src/modules/categories/domain/category-id';
import { CURRENT_LOCATION_TERMS_VERSION } from '../../src/modules/neighbourhoods/domain/neighbourhood';
import { raw } from './http';
import type { IdentityStack, SignedUpUser } from './identity';

export { categoryId };

/** 망원동 (마포구): resolves to 망원제2동; its representative point is what listings carry. */
export const MANGWON = { lat: 37.5563, lng: 126.9019, dongCode: '1144070000' } as const;

/** A leaf of the category tree (휴대폰), valid for a listing. */
export const PHONES = categoryId('digital/phones');
/** A top-level category: not a leaf, refused for a listing. */
export const DIGITAL = categoryId('digital');

export interface Seller extends SignedUpUser {
  dongCode: string;
}

/** A signed-up user with location consent and a verified 망원동 neighbourhood, all through the API. */
export async function sellerWithNeighbourhood(stack: IdentityStack, tag = 'seller'): Promise<Seller> {
  // Addresses are stored lower-case: a tag with capitals would never match its own mail.
  const user = await stack.signUp(tag.toLowerCase());
  const call = (method: string, path: string, body: unknown) =>
    raw(`${stack.api.url}/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const consent = await call('PUT', '/users/me/location-consent', { terms_version: CURRENT_LOCATION_TERMS_VERSION });
  if (consent.status !== 200) throw new Error(`location consent failed: ${consent.status} ${consent.text}`);
  const verified = await call('POST', '/users/me/neighbourhoods', { lat: MANGWON.lat, lng: MANGWON.lng });
  if (verified.status !== 200 && verified.status !== 201) throw new Error(`neighbourhood verification failed: ${verified.status} ${verified.text}`);
  const dongCode = verified.json.dong_code as string;
  return { ...user, dongCode };
}

/** A valid listing body; unique title and description so the duplicate check never trips by accident. */
export function listingInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const tag = randomBytes(4).toString('hex');
  return {
    title: `아이폰 14 프로 256GB ${tag}`,
    description: `배터리 성능 89%, 기스 없이 깨끗합니다. 직거래 선호합니다. (${tag})`,
    category_id: PHONES,
    price: 850_000,
    offers_allowed: true,
    condition: 'like_new',
    trade_methods: ['meet_up'],
    ...overrides,
  };
}

/**
 * Creates a listing through `POST /v1/products` and returns the product as the API answers it;
 * throws on anything but 201 (use `raw` directly to test refusals).
 */
export async function createListing(stack: IdentityStack, token: string, overrides: Record<string, unknown> = {}): Promise<Record<string, unknown> & { id: string }> {
  const res = await raw(`${stack.api.url}/v1/products`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(listingInput(overrides)),
  });
  if (res.status !== 201) throw new Error(`createListing failed: ${res.status} ${res.text}`);
  return res.json as Record<string, unknown> & { id: string };
}
