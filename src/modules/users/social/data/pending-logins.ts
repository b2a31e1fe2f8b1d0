import { createHash, randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import type { SocialIdentity, SocialProviderName } from '../../../../integrations/social';

/** What a started sign-in needs at its callback; never sent to the client except `state`. */
export interface LoginAttempt {
  provider: SocialProviderName;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
  /** S256 of the client's verifier: binds the callback to the client that started. */
  clientChallenge: string;
}

/** A proven social identity waiting for the owner of the matching account to confirm the link. */
export interface PendingLink {
  identity: SocialIdentity;
  userId: string;
}

export const ATTEMPT_TTL_SECONDS = 600;
export const LINK_TTL_SECONDS = 600;

// Keys hold a hash of the secret, so a look at Redis (a dump, MONITOR) gives nothing to replay.
const key = (kind: 'attempt' | 'link', secret: string) => `social:${kind}:${createHash('sha256').update(secret).digest('base64url')}`;

/**
 * Short-lived, single-use sign-in state in Redis: the attempts between start and callback (keyed
 * by `state`) and the links waiting for confirmation (keyed by a link token).
 */
export function createPendingLogins(redis: Redis) {
  const take = async <T>(k: string): Promise<T | null> => {
    // GETDEL: read and spend in one step, so two callbacks racing with one state cannot both win.
    const raw = await redis.getdel(k);
    return raw ? (JSON.parse(raw) as T) : null;
  };

  return {
    async saveAttempt(state: string, attempt: LoginAttempt): Promise<void> {
      await redis.set(key('attempt', state), JSON.stringify(attempt), 'EX', ATTEMPT_TTL_SECONDS);
    },
    takeAttempt: (state: string) => take<LoginAttempt>(key('attempt', state)),

    async saveLink(link: PendingLink): Promise<string> {
      const token = `sl_${randomBytes(32).toString('base64url')}`;
      await redis.set(key('link', token), JSON.stringify(link), 'EX', LINK_TTL_SECONDS);
      return token;
    },
    /** Read without spending: a mistyped password must not cost the person the whole sign-in. */
    async peekLink(token: string): Promise<PendingLink | null> {
      const raw = await redis.get(key('link', token));
      return raw ? (JSON.parse(raw) as PendingLink) : null;
    },
    /** True for the one caller that spent it. */
    spendLink: async (token: string) => (await redis.del(key('link', token))) === 1,
  };
}

export type PendingLogins = ReturnType<typeof createPendingLogins>;
