// @ts-check
// Scenario `auth`: a returning user signs in, looks at their profile (revalidating it with
// If-None-Match as apps do), refreshes the session when the access token ages, and signs out.
//
//   k6 run -e BASE_URL=http://127.0.0.1:3000 -e MAILBOX_URL=http://127.0.0.1:8025 load-tests/auth.js
//   k6 run -e BASE_URL=https://staging... -e USERS_FILE=users.json -e PROFILE=peak load-tests/auth.js
//
// Accounts are made in setup() through the API: register, then follow the verification link read
// from the local mail simulator's mailbox (MAILBOX_URL, which `make start` serves on :8025).
// Where no mailbox is reachable (staging), give existing accounts instead: USERS_FILE, a JSON
// array of { "email", "password" } objects (k6's open() reads it at init).
import { check, fail, sleep } from 'k6';
import { provisionAccount } from './lib/accounts.js';
import exec from 'k6/execution';
import http from 'k6/http';
import { BASE_URL, PROFILE, VUS, scenario, thinkTime, thresholdsFor, userHeaders } from './lib/config.js';

/** How many accounts setup() registers; VUs share them round-robin. */
const ACCOUNTS = Number(__ENV.ACCOUNTS || Math.min(PROFILE === 'peak' ? 200 : VUS, 200));
const GIVEN_USERS = __ENV.USERS_FILE ? /** @type {{ email: string, password: string }[]} */ (JSON.parse(open(__ENV.USERS_FILE))) : null;

export const options = {
  scenarios: { auth: scenario('auth') },
  thresholds: {
    ...thresholdsFor('auth'),
    // Sign-in spends ~50 ms hashing on purpose (argon2id); the other calls must stay fast.
    'http_req_duration{scenario:auth,name:getMyProfile}': ['p(95)<200'],
  },
  // setup() registers and verifies accounts one by one.
  setupTimeout: '5m',
};

const json = { 'Content-Type': 'application/json' };

export function setup() {
  if (GIVEN_USERS) {
    if (GIVEN_USERS.length === 0) fail('setup: USERS_FILE holds no accounts');
    return { users: GIVEN_USERS };
  }
  const users = [];
  for (let i = 0; i < ACCOUNTS; i++) users.push(provisionAccount(i));
  return { users };
}

/** @param {{ users: { email: string, password: string }[] }} data */
export function auth(data) {
  const user = data.users[exec.vu.idInTest % data.users.length];
  const login = http.post(`${BASE_URL}/v1/auth/login`, JSON.stringify({ email: user.email, password: user.password, device_name: 'k6' }), {
    headers: userHeaders(json),
    tags: { name: 'logIn' },
  });
  const signedIn = check(login, { 'login 200': (r) => r.status === 200, 'got a session': (r) => /** @type {{ object?: string }} */ (r.json()).object === 'session_tokens' });
  if (!signedIn) return void sleep(thinkTime());
  let tokens = /** @type {{ access_token: string, refresh_token: string }} */ (login.json());
  sleep(thinkTime());

  let etag = '';
  for (let view = 0; view < 3; view++) {
    const profile = http.get(`${BASE_URL}/v1/users/profile`, {
      headers: userHeaders({ Authorization: `Bearer ${tokens.access_token}`, ...(etag ? { 'If-None-Match': etag } : {}) }),
      tags: { name: 'getMyProfile' },
      responseCallback: http.expectedStatuses(200, 304),
    });
    check(profile, { 'profile 200 or 304': (r) => r.status === 200 || r.status === 304 });
    etag = profile.headers.Etag || profile.headers.ETag || etag;
    sleep(thinkTime());
  }

  const refreshed = http.post(`${BASE_URL}/v1/auth/refresh`, JSON.stringify({ refresh_token: tokens.refresh_token }), {
    headers: userHeaders(json),
    tags: { name: 'refreshSession' },
  });
  if (check(refreshed, { 'refresh 200': (r) => r.status === 200 })) tokens = /** @type {typeof tokens} */ (refreshed.json());
  sleep(thinkTime());

  const out = http.post(`${BASE_URL}/v1/auth/logout`, null, { headers: userHeaders({ Authorization: `Bearer ${tokens.access_token}` }), tags: { name: 'logOut' } });
  check(out, { 'logout 204': (r) => r.status === 204 });
  sleep(thinkTime());
}
