import { randomUUID } from 'node:crypto';
import { createJunggoClient, type JunggoClient, type JunggoClientOptions } from '../../sdk';
import type { Config } from '../../src/config';
import { signAccessToken } from '../../src/platform/http/auth';
import { startApi, type RunningApi } from '../../src/server';
import { testConfig } from './env';
import { uniqueIp } from './http';

type ClientOptions = { token?: string; ip?: string } & Pick<JunggoClientOptions, 'retry' | 'refresh' | 'idempotencyKey' | 'fetch'>;

export interface TestApi extends RunningApi {
  config: Config;
  /**
   * The SDK client, sending a fresh X-Forwarded-For (own rate-limit bucket). Retries are off
   * unless asked for: a component test asserts the server's answer to one request, and a silent
   * wait on 429/503 would hide it.
   */
  client: (opts?: ClientOptions) => JunggoClient;
}

export { uniqueIp };

/** Starts the real app in-process on an ephemeral port against the machine's PostgreSQL, Redis and RabbitMQ. */
export async function startTestApi(overrides: Record<string, string> = {}): Promise<TestApi> {
  const config = testConfig(overrides);
  const api = await startApi(config);
  return {
    ...api,
    config,
    client: ({ token, ip = uniqueIp(), retry = { maxAttempts: 1 }, ...rest } = {}) =>
      createJunggoClient({ baseUrl: `${api.url}/v1`, headers: { 'X-Forwarded-For': ip }, retry, ...(token ? { accessToken: token } : {}), ...rest }),
  };
}

export function tokenFor(config: Config, roles: string[] = [], userId = `usr_${randomUUID()}`): string {
  return signAccessToken({ sub: userId, sid: `ses_${randomUUID()}`, roles }, { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER });
}
