import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis } from '../../src/platform/redis';
import { TokenRevocations } from '../../src/modules/users/data/token-revocations';
import { createLogger } from '../../src/platform/logger';
import { unwrap } from '../../sdk';
import { startIdentityStack, type IdentityStack } from '../support/identity';

let stack: IdentityStack;
beforeAll(async () => {
  stack = await startIdentityStack();
});
afterAll(async () => {
  await stack.stop();
});

describe('SDK automatic refresh against the real API', () => {
  it('when the access token stops working, then the client refreshes once with the rotating refresh token and the call succeeds', async () => {
    const user = await stack.signUp('sdkref');
    let refreshToken = user.refreshToken;
    let refreshes = 0;
    const anonymous = stack.api.client();
    const client = stack.api.client({
      token: user.token,
      refresh: async () => {
        refreshes += 1;
        const tokens = unwrap(await anonymous.POST('/auth/refresh', { body: { refresh_token: refreshToken } }));
        refreshToken = tokens.refresh_token;
        return tokens.access_token;
      },
    });
    expect((await client.GET('/users/profile')).response.status).toBe(200);

    // Force re-issue of this user's tokens (what a role change does), one second on so the old iat is older.
    await new Promise((r) => setTimeout(r, 1_100));
    const redis = await connectRedis(stack.api.config.REDIS_URL);
    await new TokenRevocations(redis, 3600, async () => true, createLogger('silent', 'test')).requireReissue(user.id);
    await redis.quit();

    const profile = await client.GET('/users/profile');
    expect(profile.response.status).toBe(200);
    expect(profile.data?.id).toBe(user.id);
    expect(refreshes).toBe(1);
    expect(refreshToken).not.toBe(user.refreshToken);
    expect(client.accessToken).not.toBe(user.token);
  });
});
