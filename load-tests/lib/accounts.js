// @ts-check
// Accounts and listings made through the API for a scenario's setup(). A new account confirms its
// e-mail through the local mail simulator's mailbox (MAILBOX_URL, served by `make start` on
// :8025); where there is none (staging), give existing accounts with USERS_FILE instead.
import { fail, sleep } from 'k6';
import http from 'k6/http';
import { BASE_URL } from './config.js';

export const MAILBOX_URL = (__ENV.MAILBOX_URL || 'http://127.0.0.1:8025').replace(/\/$/, '');
export const PASSWORD = __ENV.USER_PASSWORD || 'K6-load-test-2026!';
const json = { 'Content-Type': 'application/json' };

// Registration is limited per address and hour: each run takes addresses of its own (a random
// second octet), so a second run within the hour does not meet the first one's budget.
const RUN_OCTET = 1 + Math.floor(Math.random() * 250);

/** Registers account `i` and follows its verification link; returns its credentials. */
export function provisionAccount(i) {
  const stamp = `${Date.now().toString(36)}${i}`;
  const email = `k6-${stamp}@loadtest.junggo.example`;
  const headers = { ...json, 'X-Forwarded-For': `10.${RUN_OCTET}.${(i >> 8) & 255}.${i & 255}` };
  const reg = http.post(`${BASE_URL}/v1/auth/register`, JSON.stringify({ email, password: PASSWORD, nickname: `k6${stamp}`.slice(0, 20) }), {
    headers,
    tags: { name: 'registerUser' },
  });
  if (reg.status !== 202) fail(`setup: register answered ${reg.status}: ${reg.body}`);
  for (let attempt = 0; attempt < 50; attempt++) {
    const box = http.get(`${MAILBOX_URL}/api/messages?to=${encodeURIComponent(email)}`, { tags: { name: 'mailbox' } });
    const messages = box.status === 200 ? /** @type {{ messages: { text: string }[] }} */ (box.json()).messages : [];
    const token = messages.map((m) => /[?&]token=([A-Za-z0-9_-]+)/.exec(m.text || '')).find(Boolean)?.[1];
    if (token) {
      const ok = http.post(`${BASE_URL}/v1/auth/verify-email`, JSON.stringify({ token }), { headers, tags: { name: 'verifyEmail' } });
      if (ok.status !== 200) fail(`setup: verify-email answered ${ok.status}`);
      return { email, password: PASSWORD };
    }
    sleep(0.2);
  }
  fail(`setup: no verification mail for ${email} at ${MAILBOX_URL} (is the worker running?)`);
}

/** Signs in; returns the access token. */
export function signIn(user) {
  const res = http.post(`${BASE_URL}/v1/auth/login`, JSON.stringify({ email: user.email, password: user.password }), { headers: json, tags: { name: 'logIn' } });
  const body = /** @type {{ object?: string, access_token?: string }} */ (res.json());
  if (res.status !== 200 || body.object !== 'session_tokens' || !body.access_token) fail(`setup: login answered ${res.status}`);
  return body.access_token;
}

/** 망원동: a seller's verified neighbourhood (consent first, as the API requires). */
export function verifyNeighbourhood(token) {
  const auth = { ...json, Authorization: `Bearer ${token}` };
  const consent = http.put(`${BASE_URL}/v1/users/me/location-consent`, JSON.stringify({ terms_version: __ENV.LOCATION_TERMS_VERSION || '2026-11-01' }), { headers: auth });
  if (consent.status !== 200) fail(`setup: location consent answered ${consent.status}: ${consent.body}`);
  const dong = http.post(`${BASE_URL}/v1/users/me/neighbourhoods`, JSON.stringify({ lat: 37.5563, lng: 126.9019 }), { headers: auth });
  if (dong.status !== 200 && dong.status !== 201) fail(`setup: neighbourhood answered ${dong.status}: ${dong.body}`);
}

const ITEMS = ['아이폰 14 프로', '갤럭시 S23', '미니벨로 자전거', '원목 식탁', '캠핑 의자', '유아 카시트', '닌텐도 스위치', '에어팟 프로', '전기 포트', '책상 스탠드'];

/** Posts `n` listings as the seller (휴대폰 category); returns their ids. */
export function postListings(token, n) {
  const auth = { ...json, Authorization: `Bearer ${token}` };
  const ids = [];
  for (let i = 0; i < n; i++) {
    const item = ITEMS[i % ITEMS.length];
    const body = {
      title: `${item} ${Date.now().toString(36)}${i}`,
      description: `${item} 팝니다. 상태 좋아요. 직거래 선호합니다. (${i})`,
      category_id: __ENV.LISTING_CATEGORY_ID || 'cat_N8M5V0WJ79PP4JA0',
      price: 10000 * (1 + (i % 50)),
      condition: 'used',
      trade_methods: ['meet_up'],
    };
    const res = http.post(`${BASE_URL}/v1/products`, JSON.stringify(body), { headers: auth, tags: { name: 'createProduct' } });
    if (res.status !== 201) fail(`setup: createProduct answered ${res.status}: ${res.body}`);
    ids.push(/** @type {{ id: string }} */ (res.json()).id);
  }
  return ids;
}
