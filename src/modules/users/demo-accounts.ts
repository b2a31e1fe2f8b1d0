import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import type { Config } from '../../config';
import { eventRecorder } from '../../platform/events/event-store';
import { createUserRepository } from './data/user-repository';
import { registeredPayload } from './domain/accounts';
import { newId } from './domain/ids';
import { createPasswordHasher } from './domain/password-hasher';
import type { Role } from './domain/user';
import { personalDataCipher } from '.';

/** The accounts `make start` provides, with passwords anyone may read: development only. */
export const DEMO_ACCOUNTS: { email: string; password: string; nickname: string; roles: Role[] }[] = [
  { email: 'demo@junggo.example', password: 'Junggo-demo-2026', nickname: '당근러버', roles: ['user'] },
  { email: 'seller@junggo.example', password: 'Junggo-demo-2026', nickname: '망원동셀러', roles: ['user'] },
  { email: 'admin@junggo.example', password: 'Junggo-admin-2026', nickname: '중고운영팀', roles: ['user', 'admin'] },
];

/**
 * Creates the demo accounts that do not exist yet, verified and ready to sign in, with the same
 * events a real sign-up records (so the UserProfile read model knows them). Idempotent.
 */
export async function seedDemoAccounts(sequelize: Sequelize, config: Config): Promise<number> {
  const users = createUserRepository(sequelize, personalDataCipher(config));
  const hasher = await createPasswordHasher();
  const recordEvents = eventRecorder(sequelize);
  let created = 0;
  for (const demo of DEMO_ACCOUNTS) {
    if (await users.findByEmail(demo.email)) continue;
    const passwordHash = await hasher.hash(demo.password);
    // Someone may have taken the nickname meanwhile (it is also the spec's example): keep the account, vary the name.
    let nickname = demo.nickname;
    for (let n = 2; await users.isNicknameTaken(nickname); n += 1) nickname = `${demo.nickname}${n}`;
    await sequelize.transaction(async (t) => {
      const inserted = await users.insert({ id: newId('usr'), email: demo.email, passwordHash, nickname, phone: null }, t);
      await sequelize.query(`UPDATE users SET roles = $2, email_verified_at = now() WHERE id = $1`, { bind: [inserted.id, demo.roles], transaction: t });
      const requestId = `seed_${randomUUID().replace(/-/g, '')}`;
      await recordEvents(
        t,
        { type: 'user', id: inserted.id },
        [
          { type: 'user.registered', payload: { ...registeredPayload({ ...inserted, roles: demo.roles }), method: 'seed' } },
          { type: 'user.email_verified', payload: { user_id: inserted.id } },
        ],
        { request_id: requestId, correlation_id: requestId },
      );
    });
    created += 1;
  }
  return created;
}
