import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { startSmtpSimulator, type CapturedMail, type SmtpSimulator } from '../../src/integrations/email/smtp-simulator';
import { dropQueues } from './queues';
import { startWorker, type RunningWorker } from '../../src/worker';
import { unwrap } from '../../sdk';
import { grantRole } from '../../src/cli/grant-role';
import type { Role } from '../../src/modules/users/domain/user';
import { startTestApi, type TestApi } from './app';
import { testConfig } from './env';
import { uniqueIp } from './http';

export const STRONG_PASSWORD = 'Sangmu-2024!';

/** Unique per call: every test makes its own people. */
export function newPerson(tag = 'user') {
  const suffix = randomBytes(5).toString('hex');
  return { email: `${tag}-${suffix}@example.com`, password: STRONG_PASSWORD, nickname: `${tag.slice(0, 6)}${suffix}` };
}


export interface IdentityStack {
  api: TestApi;
  /** A connection to the test database, for asserting stored state. */
  db: Client;
  smtp: SmtpSimulator;
  worker: RunningWorker;
  /** The next message to this address (its link token in `token`). */
  mailTo(address: string, category?: string, timeoutMs?: number): Promise<CapturedMail & { token: string | null }>;
  /** Registers, follows the e-mailed link and signs in: a ready user with tokens. */
  signUp(tag?: string): Promise<SignedUpUser>;
  login(email: string, password: string, ip?: string): Promise<{ access_token: string; refresh_token: string; session_id: string; user_id: string }>;
  stop(): Promise<void>;
}

export interface SignedUpUser {
  id: string;
  email: string;
  password: string;
  nickname: string;
  token: string;
  refreshToken: string;
  sessionId: string;
}

/** The API, the worker (outbox relay, projections, e-mail jobs) and an SMTP simulator catching the mail. */
export async function startIdentityStack(overrides: Record<string, string> = {}): Promise<IdentityStack> {
  const smtp = await startSmtpSimulator({ port: 0 });
  const env = { SMTP_URL: smtp.url, ...overrides };
  const api = await startTestApi(env);
  const worker = await startWorker(testConfig(env));
  const db = new Client({ connectionString: api.config.DATABASE_URL });
  await db.connect();

  const mailTo: IdentityStack['mailTo'] = async (address, category, timeoutMs = 10_000) => {
    const mail = await smtp.waitFor((m) => m.envelope.to.includes(address) && (!category || m.category === category), timeoutMs);
    const token = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')?.[1] ?? null;
    return { ...mail, token };
  };
  const login: IdentityStack['login'] = async (email, password, ip = uniqueIp()) => {
    const result = unwrap(await api.client({ ip }).POST('/auth/login', { body: { email, password } }));
    if (result.object !== 'session_tokens') throw new Error(`expected a session, got ${result.object}`);
    return result;
  };

  return {
    api,
    db,
    smtp,
    worker,
    mailTo,
    login,
    async signUp(tag = 'user') {
      const person = newPerson(tag);
      unwrap(await api.client().POST('/auth/register', { body: person }));
      const { token } = await mailTo(person.email, 'identity.verify-email');
      unwrap(await api.client().POST('/auth/verify-email', { body: { token: token! } }));
      const t = await login(person.email, person.password);
      return { ...person, id: t.user_id, token: t.access_token, refreshToken: t.refresh_token, sessionId: t.session_id };
    },
    async stop() {
      await db.end();
      await worker.stop();
      await api.stop();
      await smtp.stop();
      await dropQueues(api.config.REDIS_URL, api.config.QUEUE_PREFIX);
    },
  };
}

/**
 * Staff accounts as they come to be: signed up (so they have profiles, like every account),
 * given the role as the CLI gives the first admin, and signed in again so their tokens carry it.
 * For operations that check the account's current roles, not only the token's. Starts a stack of
 * its own when none is given (tokens are valid on every test API: one configuration).
 */
export async function staffAccounts(role: Role, count = 1, given?: IdentityStack): Promise<SignedUpUser[]> {
  const stack = given ?? (await startIdentityStack());
  try {
    const staff: SignedUpUser[] = [];
    for (let i = 0; i < count; i++) {
      // Not named after the role: staff-like nicknames are reserved.
      const user = await stack.signUp('crew');
      await grantRole(user.email, role, stack.api.config);
      const t = await stack.login(user.email, user.password);
      staff.push({ ...user, token: t.access_token, refreshToken: t.refresh_token, sessionId: t.session_id });
    }
    return staff;
  } finally {
    if (!given) await stack.stop();
  }
}
