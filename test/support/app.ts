import { randomUUID } from 'node:crypto';
import { createJunggoClient, type JunggoClient, type JunggoClientOptions } from '../../sdk';
import { grantRole } from '../../src/cli/grant-role';
import type { Config } from '../../src/config';
import { databaseOptions } from '../../src/config';
import { personalDataCipher } from '../../src/modules/users';
import { createUserRepository } from '../../src/modules/users/data/user-repository';
import type { Role } from '../../src/modules/users/domain/user';
import { createSequelize } from '../../src/platform/db/sequelize';
import { createLogger } from '../../src/platform/logger';
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

/** An active account written straight into the database (no sign-up mail): its id and e-mail. */
export async function accountInDatabase(config: Config): Promise<{ userId: string; email: string }> {
  const userId = `usr_${randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase()}`;
  const email = `acct-${userId.toLowerCase()}@test.junggo.example`;
  const sequelize = createSequelize(databaseOptions(config), createLogger('warn', 'test'));
  try {
    const users = createUserRepository(sequelize, personalDataCipher(config));
    await sequelize.transaction((t) => users.insert({ id: userId, email, passwordHash: null, nickname: `acct${userId.slice(-12)}`, phone: null }, t));
  } finally {
    await sequelize.close();
  }
  return { userId, email };
}

/**
 * An access token of a real staff account, for operations that check the account's current roles
 * (not only the token's): given the role as the CLI gives the first admin. Its id too, for audit
 * assertions.
 */
export async function staffToken(config: Config, role: Role): Promise<{ token: string; userId: string }> {
  const { userId, email } = await accountInDatabase(config);
  await grantRole(email, role, config);
  return { token: tokenFor(config, [role], userId), userId };
}
