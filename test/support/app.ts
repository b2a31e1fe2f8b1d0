import { randomUUID } from 'node:crypto';
import createClient from 'openapi-fetch';
import type { paths } from '../../generated/api';
import type { Config } from '../../src/config';
import { signAccessToken } from '../../src/platform/http/auth';
import { startApi, type RunningApi } from '../../src/server';
import { testConfig } from './env';
import { uniqueIp } from './http';

export interface TestApi extends RunningApi {
  config: Config;
  /** A client typed by the generated paths, sending a fresh X-Forwarded-For (own rate-limit bucket). */
  client: (opts?: { token?: string; ip?: string }) => ReturnType<typeof createClient<paths>>;
}

export { uniqueIp };

/** Starts the real app in-process on an ephemeral port against the machine's PostgreSQL, Redis and RabbitMQ. */
export async function startTestApi(overrides: Record<string, string> = {}): Promise<TestApi> {
  const config = testConfig(overrides);
  const api = await startApi(config);
  return {
    ...api,
    config,
    client: ({ token, ip = uniqueIp() } = {}) =>
      createClient<paths>({
        baseUrl: `${api.url}/v1`,
        headers: { 'X-Forwarded-For': ip, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      }),
  };
}

export function tokenFor(config: Config, roles: string[] = [], userId = `usr_${randomUUID()}`): string {
  return signAccessToken({ sub: userId, sid: `ses_${randomUUID()}`, roles }, { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER });
}
