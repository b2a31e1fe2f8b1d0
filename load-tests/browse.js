// @ts-check
// Scenario `browse`: what a buyer does before deciding: open the category menu (revalidating it
// with If-None-Match as apps do), scroll the neighbourhood feed, search by keyword, open a
// listing (and come back to it: a 304).
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e VUS=50 -e DURATION=1m load-tests/browse.js
//   k6 run -e BASE_URL=... -e PROFILE=peak -e DURATION=5m load-tests/browse.js
//
// Data comes from the API in setup(): the category tree and the listings of the feed. When the
// feed holds fewer than MIN_LISTINGS, setup() makes a seller (through the mailbox, see
// lib/accounts.js) with a verified neighbourhood and posts listings.
import { check, fail, sleep } from 'k6';
import http from 'k6/http';
import { postListings, provisionAccount, signIn, verifyNeighbourhood } from './lib/accounts.js';
import { BASE_URL, scenario, thinkTime, thresholdsFor, userHeaders } from './lib/config.js';

const MIN_LISTINGS = Number(__ENV.MIN_LISTINGS || 30);
const KEYWORDS = ['아이폰', '자전거', '식탁', '의자', '스위치', '에어팟', 'iphone'];

export const options = {
  scenarios: { browse: scenario('browse') },
  thresholds: thresholdsFor('browse'),
  setupTimeout: '3m',
};

/** @returns {string[]} */
function feedIds() {
  const res = http.get(`${BASE_URL}/v1/products?sort=recent&limit=100`, { tags: { name: 'listProducts' } });
  if (res.status !== 200) fail(`setup: GET /v1/products answered ${res.status}`);
  return /** @type {{ data: { id: string }[] }} */ (res.json()).data.map((p) => p.id);
}

export function setup() {
  const res = http.get(`${BASE_URL}/v1/products/categories`, { tags: { name: 'listProductCategories' } });
  if (res.status !== 200) fail(`setup: GET /v1/products/categories answered ${res.status}`);
  const tree = /** @type {{ data: { id: string, children: { id: string }[] }[] }} */ (res.json());
  const categories = tree.data.flatMap((top) => [top.id, ...top.children.map((child) => child.id)]);
  if (categories.length === 0) fail('setup: the category tree is empty');

  let products = feedIds();
  if (products.length < MIN_LISTINGS) {
    const seller = signIn(provisionAccount(9000));
    verifyNeighbourhood(seller);
    postListings(seller, MIN_LISTINGS - products.length);
    // The feed is fed by events through the worker: wait until it shows them.
    for (let i = 0; i < 50 && products.length < MIN_LISTINGS; i++) {
      sleep(0.2);
      products = feedIds();
    }
    if (products.length === 0) fail('setup: the posted listings never reached the feed (is the worker running?)');
  }
  return { categories, products };
}

/** @param {{ categories: string[], products: string[] }} data */
export function browse(data) {
  const menu = http.get(`${BASE_URL}/v1/products/categories?max_depth=0`, { headers: userHeaders(), tags: { name: 'listProductCategories' } });
  check(menu, { 'menu 200': (r) => r.status === 200, 'menu has ETag': (r) => Boolean(r.headers.Etag || r.headers.ETag) });
  const etag = menu.headers.Etag || menu.headers.ETag || '';
  const again = http.get(`${BASE_URL}/v1/products/categories?max_depth=0`, {
    // Without an ETag there is nothing to revalidate: an empty If-None-Match is a 400.
    headers: userHeaders(etag ? { 'If-None-Match': etag } : {}),
    tags: { name: 'listProductCategories' },
    // A 304 is the expected answer here, not a failure.
    responseCallback: http.expectedStatuses(200, 304),
  });
  check(again, { 'menu revalidation 304': (r) => r.status === 304 });
  sleep(thinkTime());

  const category = data.categories[Math.floor(Math.random() * data.categories.length)];
  const feed = http.get(`${BASE_URL}/v1/products?category_id=${category}&sort=recent&limit=20`, { headers: userHeaders(), tags: { name: 'listProducts' } });
  check(feed, { 'feed 200': (r) => r.status === 200 });
  const recent = http.get(`${BASE_URL}/v1/products?sort=recent&limit=20`, { headers: userHeaders(), tags: { name: 'listProducts' } });
  check(recent, { 'recent feed 200': (r) => r.status === 200, 'recent feed has listings': (r) => /** @type {{ data: unknown[] }} */ (r.json()).data.length > 0 });
  sleep(thinkTime());

  const keyword = KEYWORDS[Math.floor(Math.random() * KEYWORDS.length)];
  const search = http.get(`${BASE_URL}/v1/products?q=${encodeURIComponent(keyword)}&limit=20`, { headers: userHeaders(), tags: { name: 'listProducts' } });
  check(search, { 'search 200': (r) => r.status === 200 });
  sleep(thinkTime());

  const id = data.products[Math.floor(Math.random() * data.products.length)];
  const detail = http.get(`${BASE_URL}/v1/products/${id}`, { headers: userHeaders(), tags: { name: 'getProduct' } });
  check(detail, { 'detail 200': (r) => r.status === 200, 'is the one asked for': (r) => /** @type {{ id?: string }} */ (r.json()).id === id });
  sleep(thinkTime());
  const detailEtag = detail.headers.Etag || detail.headers.ETag || '';
  const back = http.get(`${BASE_URL}/v1/products/${id}`, {
    headers: userHeaders(detailEtag ? { 'If-None-Match': detailEtag } : {}),
    tags: { name: 'getProduct' },
    responseCallback: http.expectedStatuses(200, 304),
  });
  check(back, { 'detail 200 or 304': (r) => r.status === 200 || r.status === 304 });
  sleep(thinkTime());
}
