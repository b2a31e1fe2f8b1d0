import { UniqueConstraintError } from 'sequelize';
import type { RequestContext } from '../../../platform/context';
import { inTransaction } from '../../../platform/db/transaction';
import { metadataFrom } from '../../../platform/events/event-store';
import { NICKNAME_INDEX } from '../data/user-repository';
import type { UsersDeps } from './deps';
import { newId, newSecret } from './ids';
import { checkPassword } from './password-policy';
import { invalidToken, nicknameReserved, nicknameTaken, tooManyAttempts, weakPassword, wrongCurrentPassword, accountLocked } from './problems';
import { normaliseEmail, normalisePhone, type User } from './user';

const VERIFY_EMAIL_TTL_SECONDS = 24 * 3600;
const RESET_PASSWORD_TTL_SECONDS = 30 * 60;
// Names that read as staff. Compared without case, spaces, dots and underscores.
const RESERVED_NICKNAMES = ['admin', 'administrator', 'junggo', 'moderator', 'staff', 'support', 'official', '관리자', '운영자', '중고', '고객센터', '공식'];

export const isReservedNickname = (nickname: string) => {
  const bare = nickname.toLowerCase().replace(/[\s._]/g, '');
  return RESERVED_NICKNAMES.some((r) => bare.includes(r));
};

export function assertPasswordAcceptable(password: string, pointer: string, context: { email?: string; nickname?: string }): void {
  const problems = checkPassword(password, context);
  if (problems.length) throw weakPassword(pointer, problems);
}

/** Maps the nickname's unique index to 409; anything else propagates. */
export function rethrowNicknameTaken(err: unknown): never {
  if (err instanceof UniqueConstraintError && (err.parent as { constraint?: string } | undefined)?.constraint === NICKNAME_INDEX) throw nicknameTaken();
  throw err;
}

const userRef = (id: string) => ({ type: 'user', id });

export function accountUseCases(deps: UsersDeps) {
  const { sequelize, users, accountTokens, hasher, mail, recordEvents, limits } = deps;

  async function throttleEmails(ctx: RequestContext): Promise<void> {
    const ip = await limits.emailIp.hit(ctx.client.ip);
    if (!ip.allowed) throw tooManyAttempts(ip.retryAfterSeconds);
  }
  // Per address the answer must not differ from an unknown address: over the limit, nothing is sent.
  const addressAllowsAnotherMail = async (email: string) => (await limits.emailAccount.hit(users.emailIndex(email))).allowed;

  /**
   * Starts the part of a request that depends on the address once the answer is settled (when the
   * request's transaction commits, for an Idempotency-Key request), without waiting for it: the
   * answer then takes as long for an address with an account as for one without, so its timing
   * does not tell which addresses have accounts. Not durable: a crash in between loses that one
   * mail, and the user asks again.
   */
  function afterAnswer(ctx: RequestContext, what: string, work: (ctx: RequestContext) => Promise<void>): void {
    const own: RequestContext = { requestId: ctx.requestId, actor: ctx.actor, log: ctx.log, client: ctx.client };
    // On the next turn of the event loop: the answer is on its way before any of the work starts.
    const start = () => void setImmediate(() => void work(own).catch((err) => ctx.log.error({ err }, `could not ${what}`)));
    if (ctx.transaction) ctx.transaction.afterCommit(start);
    else start();
  }

  /** A new link retires the previous one; lost with its mail, it is asked for again (resend). */
  async function mailVerificationLink(ctx: RequestContext, user: User): Promise<void> {
    const token = newSecret('vt');
    await inTransaction(sequelize, ctx, async (t) => {
      await accountTokens.issue(user.id, 'verify_email', token, VERIFY_EMAIL_TTL_SECONDS, t);
      t.afterCommit(() => void mail.verifyEmail(user.email, user.nickname, token).catch((err) => ctx.log.error({ err }, 'could not queue the verification e-mail')));
    });
  }

  async function noticeToOwner(owner: User): Promise<void> {
    if (await addressAllowsAnotherMail(owner.email)) await mail.accountExists(owner.email, owner.nickname);
  }

  return {
    /**
     * Creates an unverified account and mails the link; for a taken address, mails its owner
     * instead. The same answer either way, after the same work (docs/identity.md).
     */
    async register(ctx: RequestContext, input: { email: string; password: string; nickname: string; phone?: string }): Promise<void> {
      const ip = await limits.registerIp.hit(ctx.client.ip);
      if (!ip.allowed) throw tooManyAttempts(ip.retryAfterSeconds);
      if (isReservedNickname(input.nickname)) throw nicknameReserved();
      assertPasswordAcceptable(input.password, '/password', { email: input.email, nickname: input.nickname });
      const passwordHash = await hasher.hash(input.password);
      const email = normaliseEmail(input.email);
      // Before looking at the address: a taken nickname must be a 409 whether or not the address
      // has an account, or the pair would tell which addresses do.
      if (await users.isNicknameTaken(input.nickname)) throw nicknameTaken();

      // The account is written before the answer, so that a 202 (or an Idempotency-Key's stored
      // 202) means it exists: no crash loses it, a sign-in right after sees it, and a nickname
      // lost to a concurrent registration is still a 409. A taken address does the same writes in
      // the same statements (its row rewritten, an event on its stream), so the answer takes as
      // long. What differs follows the answer: the link, or the per-address limit and the notice.
      const { user, created } = await inTransaction(sequelize, ctx, async (t) => {
        const claim = await users.insertOrGetByEmail({ id: newId('usr'), email, passwordHash, nickname: input.nickname, phone: input.phone ? normalisePhone(input.phone) : null }, t);
        const event = claim.created
          ? { type: 'user.registered', payload: registeredPayload(claim.user) }
          : { type: 'user.registration_attempted', payload: { user_id: claim.user.id, ip_address: ctx.client.ip } };
        await recordEvents(t, userRef(claim.user.id), [event], metadataFrom(ctx));
        return claim;
      }).catch(rethrowNicknameTaken);
      if (created) afterAnswer(ctx, 'send the verification e-mail', (own) => mailVerificationLink(own, user));
      else afterAnswer(ctx, "tell an account's owner of a registration", () => noticeToOwner(user));
    },

    /** Confirms the address with a single-use token. */
    async verifyEmail(ctx: RequestContext, token: string): Promise<User> {
      return inTransaction(sequelize, ctx, async (t) => {
        const userId = await accountTokens.consume(token, 'verify_email', t);
        if (!userId) throw invalidToken();
        const user = await users.markEmailVerified(userId, t);
        await recordEvents(t, userRef(user.id), [{ type: 'user.email_verified', payload: { user_id: user.id } }], metadataFrom(ctx));
        return user;
      });
    },

    /** Mails a new verification link to an unverified account; the same answer for any address, as fast. */
    async resendVerification(ctx: RequestContext, email: string): Promise<void> {
      await throttleEmails(ctx);
      afterAnswer(ctx, 'resend the verification e-mail', async (own) => {
        const user = await users.findByEmail(email);
        if (!user || user.emailVerifiedAt || !(await addressAllowsAnotherMail(email))) return;
        await mailVerificationLink(own, user);
      });
    },

    /** Mails a reset link to the account with this address; the same answer for any address, as fast. */
    async requestPasswordReset(ctx: RequestContext, email: string): Promise<void> {
      await throttleEmails(ctx);
      afterAnswer(ctx, 'issue a password reset', async (own) => {
        const user = await users.findByEmail(email);
        if (!user || !(await addressAllowsAnotherMail(email))) return;
        const token = newSecret('pr');
        await inTransaction(sequelize, own, async (t) => {
          await accountTokens.issue(user.id, 'reset_password', token, RESET_PASSWORD_TTL_SECONDS, t);
          await recordEvents(t, userRef(user.id), [{ type: 'user.password_reset_requested', payload: { user_id: user.id, ip_address: own.client.ip } }], metadataFrom(own));
          t.afterCommit(() => void mail.resetPassword(user.email, user.nickname, token).catch((err) => own.log.error({ err }, 'could not queue the reset e-mail')));
        });
      });
    },

    /** Sets a new password from a reset link; every session ends and a sign-in lock is lifted. */
    async resetPassword(ctx: RequestContext, token: string, newPassword: string): Promise<void> {
      const passwordHash = await hasher.hash(newPassword);
      const user = await inTransaction(sequelize, ctx, async (t) => {
        const userId = await accountTokens.consume(token, 'reset_password', t);
        if (!userId) throw invalidToken();
        const user = (await users.findByIdForUpdate(userId, t))!;
        assertPasswordAcceptable(newPassword, '/new_password', { email: user.email, nickname: user.nickname });
        await users.setPasswordHash(user.id, passwordHash, t);
        const ended = await deps.sessions.revoke(user.id, 'password_reset', t);
        await deps.revocations.revokeSessions(ended);
        await recordEvents(t, userRef(user.id), [{ type: 'user.password_changed', payload: { user_id: user.id, via: 'reset', sessions_ended: ended.length } }], metadataFrom(ctx));
        return user;
      });
      await limits.loginAccount.reset(users.emailIndex(user.email));
    },

    /** Changes the password after checking the current one; the caller's session stays, the others end. */
    async changePassword(ctx: RequestContext, userId: string, sessionId: string, current: string, next: string): Promise<void> {
      const user = await users.findById(userId);
      if (!user) throw wrongCurrentPassword();
      const accountKey = users.emailIndex(user.email);
      // Taken before verifying, as at sign-in: concurrent guesses cannot outrun the lock.
      const outcome = await limits.loginAccount.attempt(accountKey, () => hasher.verify(user.passwordHash, current));
      if (!outcome.right) {
        if (!outcome.state.allowed) throw accountLocked(outcome.state.retryAfterSeconds);
        throw wrongCurrentPassword();
      }
      assertPasswordAcceptable(next, '/new_password', { email: user.email, nickname: user.nickname });
      const passwordHash = await hasher.hash(next);
      await inTransaction(sequelize, ctx, async (t) => {
        await users.setPasswordHash(user.id, passwordHash, t);
        const ended = await deps.sessions.revoke(user.id, 'password_changed', t, { except: sessionId });
        await deps.revocations.revokeSessions(ended);
        await recordEvents(t, userRef(user.id), [{ type: 'user.password_changed', payload: { user_id: user.id, via: 'change', sessions_ended: ended.length } }], metadataFrom(ctx));
      });
    },
  };
}

/** Public fields only: events are kept for good and travel to every consumer. */
export const registeredPayload = (u: User) => ({
  user_id: u.id,
  nickname: u.nickname,
  roles: u.roles,
  joined_at: u.createdAt.toISOString(),
});
