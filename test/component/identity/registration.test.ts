import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { QueryTypes, type Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseOptions } from '../../../src/config';
import { personalDataCipher } from '../../../src/modules/users';
import { createAccountTokenRepository } from '../../../src/modules/users/data/account-token-repository';
import { createSessionRepository } from '../../../src/modules/users/data/session-repository';
import { TokenRevocations } from '../../../src/modules/users/data/token-revocations';
import { createUserRepository } from '../../../src/modules/users/data/user-repository';
import type { AccountMail } from '../../../src/modules/users/domain/account-mail';
import { accountUseCases } from '../../../src/modules/users/domain/accounts';
import type { UsersDeps } from '../../../src/modules/users/domain/deps';
import { createPasswordHasher } from '../../../src/modules/users/domain/password-hasher';
import type { RequestContext } from '../../../src/platform/context';
import { createSequelize } from '../../../src/platform/db/sequelize';
import { eventRecorder } from '../../../src/platform/events/event-store';
import { AttemptLimiter } from '../../../src/platform/limits/attempt-limiter';
import { createLogger } from '../../../src/platform/logger';
import { connectRedis } from '../../../src/platform/redis';
import { testConfig } from '../../support/env';
import { uniqueIp } from '../../support/http';
import { newPerson } from '../../support/identity';

/**
 * The registration use case on the real PostgreSQL and Redis, with its outgoing ports (the
 * hasher, the mail) wrapped to say when they are used, and every SQL statement recorded: what each
 * path does before its answer can be compared step by step, which a stopwatch could not show.
 */
let sequelize: Sequelize;
let redis: Redis;
let accounts: ReturnType<typeof accountUseCases>;
const trace: string[] = [];
// The owner's notice waits on this while a test holds it.
let noticeHeld: Promise<void> = Promise.resolve();
const sent: { kind: keyof AccountMail; to: string }[] = [];

const statement = (sql: string) => sql.replace(/^Executing \([^)]*\): /, '').replace(/\s+/g, ' ').trim();

beforeAll(async () => {
  const config = testConfig();
  const log = createLogger('trace', 'test', {
    write: (line: string) => {
      const { sql } = JSON.parse(line) as { sql?: string };
      if (sql) trace.push(statement(sql));
    },
  });
  sequelize = createSequelize(databaseOptions(config), log);
  redis = await connectRedis(config.REDIS_URL);
  const hasher = await createPasswordHasher();
  const sessions = createSessionRepository(sequelize);
  const limiter = (name: string, limit: number, windowSeconds: number) => {
    const l = new AttemptLimiter(redis, { name, limit, windowSeconds }, log);
    const hit = l.hit.bind(l);
    l.hit = (key) => {
      trace.push(`limit ${name}`);
      return hit(key);
    };
    return l;
  };
  const mail = (kind: keyof AccountMail, held?: () => Promise<void>) => async (to: string) => {
    trace.push(`mail ${kind}`);
    if (held) await held();
    sent.push({ kind, to });
  };
  const deps: UsersDeps = {
    sequelize,
    users: createUserRepository(sequelize, personalDataCipher(config)),
    sessions,
    accountTokens: createAccountTokenRepository(sequelize),
    revocations: new TokenRevocations(redis, config.ACCESS_TOKEN_TTL_SECONDS, (sid) => sessions.isActive(sid), log),
    hasher: {
      hash: (password) => {
        trace.push('hash');
        return hasher.hash(password);
      },
      verify: hasher.verify,
    },
    mail: { verifyEmail: mail('verifyEmail'), resetPassword: mail('resetPassword'), accountExists: mail('accountExists', () => noticeHeld) },
    recordEvents: eventRecorder(sequelize),
    tokens: { secret: config.JWT_SECRET, issuer: config.JWT_ISSUER, accessTtlSeconds: 3600, refreshTtlSeconds: 86400 },
    limits: {
      loginAccount: limiter('login-account', 10, 900),
      loginIp: limiter('login-ip', 20, 900),
      emailAccount: limiter('email-account', 3, 3600),
      emailIp: limiter('email-ip', 10, 3600),
      registerIp: limiter('register-ip', 5, 3600),
    },
  };
  accounts = accountUseCases(deps);
});
afterAll(async () => {
  await sequelize?.close();
  await redis?.quit();
});

const requestContext = (ip: string): RequestContext => ({
  requestId: `req_${randomUUID().replace(/-/g, '')}`,
  log: createLogger('silent', 'test'),
  client: { ip, userAgent: 'vitest' },
});

const ANSWERED = '-- answered --';

/** Registers and returns what ran before the answer and, once `settled` holds, what ran after it. */
async function register(person: { email: string; password: string; nickname: string }, settled: () => boolean, ip = uniqueIp()) {
  trace.length = 0;
  let timer: NodeJS.Timeout | undefined;
  const answer = await Promise.race([
    accounts.register(requestContext(ip), person).then(() => 'answered' as const),
    new Promise<'waited'>((r) => (timer = setTimeout(() => r('waited'), 5_000))),
  ]);
  clearTimeout(timer);
  trace.push(ANSWERED);
  return {
    answer,
    before: trace.slice(0, trace.indexOf(ANSWERED)),
    async after() {
      const until = Date.now() + 5_000;
      while (!settled() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      return trace.slice(trace.indexOf(ANSWERED) + 1);
    },
  };
}

describe('registerUser use case', () => {
  it("when the address already has an account, then its answer comes after the same steps as a new address's, statement for statement, and the owner's notice follows the answer without holding it", async () => {
    const owner = newPerson('twin');
    const ip = uniqueIp();
    const fresh = await register(owner, () => sent.some((m) => m.to === owner.email && m.kind === 'verifyEmail'));
    expect(fresh.answer).toBe('answered');
    const freshAfter = await fresh.after();

    let release!: () => void;
    noticeHeld = new Promise<void>((r) => (release = r));
    try {
      const taken = await register({ ...owner, nickname: `${owner.nickname}x`, email: owner.email.toUpperCase() }, () => sent.some((m) => m.to === owner.email && m.kind === 'accountExists'), ip);
      // Before the change the owner's lookup, limit and notice came first: the held notice held the answer.
      expect(taken.answer).toBe('answered');

      // The hash, the nickname check, the insert that claims the address, an event, the commit:
      // the same texts in the same order (the bound values differ).
      expect(fresh.before.filter((s) => s === 'hash')).toHaveLength(1);
      expect(fresh.before).toContainEqual(expect.stringMatching(/^INSERT INTO users /));
      expect(fresh.before).toContainEqual(expect.stringMatching(/INSERT INTO events /));
      expect(taken.before).toEqual(fresh.before);
      expect([...fresh.before, ...taken.before].some((s) => s.startsWith('mail ') || s.startsWith('limit email-') || s.includes('account_tokens'))).toBe(false);

      release();
      const takenAfter = await taken.after();
      expect(sent.filter((m) => m.to === owner.email).map((m) => m.kind)).toEqual(['verifyEmail', 'accountExists']);
      expect(takenAfter).toEqual(['limit email-account', 'mail accountExists']);
      expect(freshAfter).toEqual(expect.arrayContaining([expect.stringMatching(/^INSERT INTO account_tokens /), 'mail verifyEmail']));
    } finally {
      release();
      noticeHeld = Promise.resolve();
    }

    const accountsNamed = await sequelize.query<{ id: string }>(`SELECT id FROM users WHERE lower(nickname) IN (lower($1), lower($2))`, {
      bind: [owner.nickname, `${owner.nickname}x`],
      type: QueryTypes.SELECT,
    });
    expect(accountsNamed).toHaveLength(1);
    const stream = await sequelize.query<{ type: string; payload: Record<string, unknown> }>(
      `SELECT type, payload FROM events WHERE aggregate_type = 'user' AND aggregate_id = $1 ORDER BY aggregate_version`,
      { bind: [accountsNamed[0]!.id], type: QueryTypes.SELECT },
    );
    expect(stream.map((e) => e.type)).toEqual(['user.registered', 'user.registration_attempted']);
    expect(stream[1]!.payload).toEqual({ user_id: accountsNamed[0]!.id, ip_address: ip });
    expect(JSON.stringify(stream)).not.toContain(owner.email);
  });

  it("when the owner's row is held by a write referencing it (a sign-in's session, a like: FOR KEY SHARE), then a registration with the owner's address still answers without waiting for it", async () => {
    const owner = newPerson('busy');
    expect((await register(owner, () => true)).answer).toBe('answered');
    const [row] = await sequelize.query<{ id: string }>('SELECT id FROM users WHERE lower(nickname) = lower($1)', { bind: [owner.nickname], type: QueryTypes.SELECT });
    // What a foreign-key check takes on the referenced row, held open by another transaction.
    await sequelize.transaction(async (t) => {
      await sequelize.query('SELECT 1 FROM users WHERE id = $1 FOR KEY SHARE', { bind: [row!.id], transaction: t });
      const taken = await register({ ...owner, nickname: `${owner.nickname}y` }, () => true);
      expect(taken.answer).toBe('answered');
    });
  });
});
