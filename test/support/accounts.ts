import { randomBytes, randomUUID } from 'node:crypto';
import type { Config } from '../../src/config';
import { databaseOptions } from '../../src/config';
import { personalDataCipher } from '../../src/modules/users';
import { createUserRepository } from '../../src/modules/users/data/user-repository';
import { registeredPayload } from '../../src/modules/users/domain/accounts';
import { newId } from '../../src/modules/users/domain/ids';
import { createSequelize } from '../../src/platform/db/sequelize';
import { eventRecorder } from '../../src/platform/events/event-store';
import { createLogger } from '../../src/platform/logger';
import { tokenFor } from './app';

/**
 * Accounts without the sign-up ceremony (no mail round trip), for tests that need many people:
 * verified rows, written as the users component writes them, with the events a sign-up records,
 * so every reader knows them as it knows real accounts (admin lists decrypt their e-mails; a
 * running worker projects their public profiles). Tokens are signed with the test key (the token
 * guard only consults revocations).
 */
export async function quickAccounts(config: Config, n: number, tag: string): Promise<{ id: string; token: string }[]> {
  const sequelize = createSequelize(databaseOptions(config), createLogger('warn', 'test'));
  try {
    const users = createUserRepository(sequelize, personalDataCipher(config));
    const recordEvents = eventRecorder(sequelize);
    const made: { id: string; token: string }[] = [];
    for (let i = 0; i < n; i++) {
      const suffix = randomBytes(5).toString('hex');
      const id = await sequelize.transaction(async (t) => {
        const user = await users.insert({ id: newId('usr'), email: `${tag}-${suffix}@example.com`, passwordHash: null, nickname: `${tag}${suffix}`, phone: null }, t);
        await users.markEmailVerified(user.id, t);
        const requestId = `test_${randomUUID().replace(/-/g, '')}`;
        await recordEvents(
          t,
          { type: 'user', id: user.id },
          [
            { type: 'user.registered', payload: { ...registeredPayload(user), method: 'test' } },
            { type: 'user.email_verified', payload: { user_id: user.id } },
          ],
          { request_id: requestId, correlation_id: requestId },
        );
        return user.id;
      });
      made.push({ id, token: tokenFor(config, ['user'], id) });
    }
    return made;
  } finally {
    await sequelize.close();
  }
}
