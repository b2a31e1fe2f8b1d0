// @ts-check
// Shared settings for the k6 scenarios. Everything comes from the environment (-e NAME=value).
import exec from 'k6/execution';

/** The API root, without /v1. */
export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:3000').replace(/\/$/, '');
export const VUS = Number(__ENV.VUS || 50);
export const DURATION = __ENV.DURATION || '1m';
/** `steady` (VUS for DURATION) or `peak` (ramp to 1,000 users with think time, the seed's target). */
export const PROFILE = __ENV.PROFILE || 'steady';

/** The executor for one scenario under the chosen profile. */
export function scenario(exec_) {
  if (PROFILE === 'peak') {
    return {
      executor: 'ramping-vus',
      exec: exec_,
      startVUs: 0,
      stages: [
        { duration: '2m', target: 1000 },
        { duration: DURATION, target: 1000 },
        { duration: '1m', target: 0 },
      ],
      gracefulRampDown: '30s',
    };
  }
  return { executor: 'constant-vus', exec: exec_, vus: VUS, duration: DURATION };
}

/** Per-scenario thresholds from the issue: p95 under 200 ms, under 0.1% failed requests. */
export function thresholdsFor(name) {
  return {
    [`http_req_duration{scenario:${name}}`]: ['p(95)<200'],
    [`http_req_failed{scenario:${name}}`]: ['rate<0.001'],
  };
}

/**
 * Headers of one simulated user. Each virtual user presents its own client address, so that
 * per-IP rate limits see users, not the load generator: run against an instance whose
 * TRUST_PROXY trusts the generator's address (or with RATE_LIMIT_MAX raised).
 */
export function userHeaders(extra = {}) {
  const id = exec.vu.idInTest;
  return {
    'X-Forwarded-For': `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`,
    'X-Request-Id': `k6-${id}-${exec.vu.iterationInScenario}`,
    ...extra,
  };
}

/** Think time: a person reads before the next tap (1–4 s). */
export function thinkTime() {
  return 1 + Math.random() * 3;
}
