// @ts-check
// Scenario `browse`: what a buyer does before deciding: open the category menu, revalidate it
// with If-None-Match as apps do, open a category. Feed, search and listing detail join this
// scenario as the catalog operations land.
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e VUS=50 -e DURATION=1m load-tests/browse.js
//   k6 run -e BASE_URL=... -e PROFILE=peak -e DURATION=5m load-tests/browse.js
import { check, fail, sleep } from 'k6';
import http from 'k6/http';
import { BASE_URL, scenario, thinkTime, thresholdsFor, userHeaders } from './lib/config.js';

export const options = {
  scenarios: { browse: scenario('browse') },
  thresholds: thresholdsFor('browse'),
};

/** Data set up through the API: the category ids to browse. */
export function setup() {
  const res = http.get(`${BASE_URL}/v1/products/categories`, { tags: { name: 'listProductCategories' } });
  if (res.status !== 200) fail(`setup: GET /v1/products/categories answered ${res.status}`);
  const tree = /** @type {{ data: { id: string, children: { id: string }[] }[] }} */ (res.json());
  const ids = tree.data.flatMap((top) => [top.id, ...top.children.map((child) => child.id)]);
  if (ids.length === 0) fail('setup: the category tree is empty');
  return { ids };
}

/** @param {{ ids: string[] }} data */
export function browse(data) {
  const menu = http.get(`${BASE_URL}/v1/products/categories?max_depth=0`, { headers: userHeaders(), tags: { name: 'listProductCategories' } });
  check(menu, { 'menu 200': (r) => r.status === 200, 'menu has ETag': (r) => Boolean(r.headers.Etag || r.headers.ETag) });
  sleep(thinkTime());

  const etag = menu.headers.Etag || menu.headers.ETag || '';
  const again = http.get(`${BASE_URL}/v1/products/categories?max_depth=0`, {
    headers: userHeaders({ 'If-None-Match': etag }),
    tags: { name: 'listProductCategories' },
    // A 304 is the expected answer here, not a failure.
    responseCallback: http.expectedStatuses(200, 304),
  });
  check(again, { 'revalidation 304': (r) => r.status === 304 });
  sleep(thinkTime());

  const id = data.ids[Math.floor(Math.random() * data.ids.length)];
  const one = http.get(`${BASE_URL}/v1/products/categories/${id}`, { headers: userHeaders(), tags: { name: 'getProductCategory' } });
  check(one, { 'category 200': (r) => r.status === 200, 'is the one asked for': (r) => /** @type {{ id?: string }} */ (r.json()).id === id });
  sleep(thinkTime());
}
