import type { Transaction } from 'sequelize';
import type { RequestContext } from '../../../platform/context';
import { inTransaction } from '../../../platform/db/transaction';
import { metadataFrom } from '../../../platform/events/event-store';
import { signAccessToken } from '../../../platform/http/auth';
import { notFound } from '../../../platform/errors';
import type { UsersDeps } from './deps';
import { newId, newSecret } from './ids';
import {
  accountLocked,
  accountSuspended,
  emailNotVerified,
  invalidCredentials,
  invalidRefreshToken,
  refreshTokenReused,
  tooManyAttempts,
} from './problems';
import { isBlocked, MAX_ACTIVE_SESSIONS, type Session, type User } from './user';

/** A second-factor challenge standing between a proven first factor and a session. */
export interface LoginChallenge {
  challengeToken: string;
  methods: ('totp' | 'sms' | 'recovery_code')[];
  expiresAt: Date;
}

export type SignInResult = { kind: 'session'; tokens: IssuedTokens } | { kind: 'challenge'; challenge: LoginChallenge };

/**
 * Decides whether a sign-in whose first factor is proven needs a second one. Provided by the
 * two-factor component; without it every sign-in opens a session.
 */
export interface SecondFactorGate {
  challengeFor(ctx: RequestContext, user: User, method: string, deviceName: string | undefined): Promise<LoginChallenge | null>;
}

export interface IssuedTokens {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  sessionId: string;
  userId: string;
}

/** A readable device name from a user agent, for the session list when the client gives none. */
export function deviceNameFrom(userAgent: string): string {
  const ua = userAgent.toLowerCase();
  const os = ua.includes('android') ? 'Android' : /iphone|ipad|ios/.test(ua) ? 'iOS' : ua.includes('mac os') ? 'macOS' : ua.includes('windows') ? 'Windows' : ua.includes('linux') ? 'Linux' : null;
  const app = ua.includes('junggo') ? 'Junggo app' : ua.includes('edg/') ? 'Edge' : ua.includes('chrome') ? 'Chrome' : ua.includes('firefox') ? 'Firefox' : ua.includes('safari') ? 'Safari' : null;
  return [app, os].filter(Boolean).join(' on ') || 'Unknown device';
}

/** The address shown in the session list: enough to recognise a network, not to locate a person. */
export function maskIp(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+)\.\d+$/.exec(ip);
  if (v4) return `${v4[1]}.*`;
  const parts = ip.split(':').filter(Boolean);
  return parts.length >= 3 ? `${parts.slice(0, 3).join(':')}:*` : '*';
}

export function sessionUseCases(deps: UsersDeps) {
  const { sequelize, users, sessions, hasher, recordEvents, revocations, tokens, limits } = deps;

  const signFor = (user: Pick<User, 'id' | 'roles'>, sessionId: string) =>
    signAccessToken({ sub: user.id, sid: sessionId, roles: user.roles }, { secret: tokens.secret, issuer: tokens.issuer }, tokens.accessTtlSeconds);

  function assertMaySignIn(user: User): void {
    if (!user.emailVerifiedAt) throw emailNotVerified();
    if (isBlocked(user)) throw accountSuspended(user.status === 'banned' ? null : user.suspendedUntil);
  }

  /**
   * Opens a session for a user who has proven who they are (password, second factor, social
   * login): a session row, its first refresh token and a `user.logged_in` event carrying the
   * address and device for fraud scoring, all in the caller's transaction.
   */
  async function issueSession(ctx: RequestContext, user: User, method: string, deviceName: string | undefined, t: Transaction): Promise<IssuedTokens> {
    const sessionId = newId('ses');
    const refreshToken = newSecret('rt');
    const refreshTokenExpiresAt = new Date(Date.now() + tokens.refreshTtlSeconds * 1000);
    const device = deviceName ?? deviceNameFrom(ctx.client.userAgent);
    await sessions.create({ id: sessionId, userId: user.id, deviceName: device, userAgent: ctx.client.userAgent, ipAddress: ctx.client.ip, expiresAt: refreshTokenExpiresAt }, t);
    await sessions.addRefreshToken(sessionId, refreshToken, refreshTokenExpiresAt, t);
    // Past the cap the least recently used sessions end, so that every live session stays on the
    // device list (where it can be seen and ended) instead of hiding past its last page.
    const ended = await sessions.revokeBeyond(user.id, MAX_ACTIVE_SESSIONS, 'session_limit', t);
    await revocations.revokeSessions(ended);
    await recordEvents(
      t,
      { type: 'user', id: user.id },
      [
        { type: 'user.logged_in', payload: { user_id: user.id, session_id: sessionId, method, ip_address: ctx.client.ip, user_agent: ctx.client.userAgent, device_name: device } },
        ...ended.map((id) => ({ type: 'user.session_revoked', payload: { user_id: user.id, session_id: id, reason: 'session_limit', ip_address: ctx.client.ip } })),
      ],
      metadataFrom(ctx),
    );
    return { accessToken: signFor(user, sessionId), expiresIn: tokens.accessTtlSeconds, refreshToken, refreshTokenExpiresAt, sessionId, userId: user.id };
  }

  return {
    issueSession,
    assertMaySignIn,

    /**
     * Checks e-mail and password under two limits: per IP address (throttle) and per account
     * (failures lock it, whatever address they come from). Returns the user once the password is
     * right; what follows (a session, or a second-factor challenge) is the caller's.
     */
    async checkPassword(ctx: RequestContext, email: string, password: string): Promise<User> {
      // Failures are what is counted per address: people behind one carrier NAT sign in freely,
      // while a password spray across many accounts from one address is stopped. Both limits are
      // taken before the password is verified (argon2 takes tens of milliseconds: concurrent
      // guesses would all pass a check that counted nothing) and given back unless it was wrong.
      const ip = await limits.loginIp.take(ctx.client.ip);
      if (!ip.allowed) throw tooManyAttempts(ip.retryAfterSeconds);
      const accountKey = users.emailIndex(email);
      let account: 'refused' | 'taken' | 'failed' | 'right' = 'refused';
      try {
        const lock = await limits.loginAccount.take(accountKey);
        if (!lock.allowed) throw accountLocked(lock.retryAfterSeconds);
        account = 'taken';
        const user = await users.findByEmail(email);
        if (!(await hasher.verify(user?.passwordHash ?? null, password)) || !user) {
          // Counted for unknown addresses too: a lock must not tell which addresses have accounts.
          account = 'failed';
          const after = await limits.loginAccount.failed(accountKey);
          if (user) {
            await inTransaction(sequelize, ctx, (t) =>
              recordEvents(t, { type: 'user', id: user.id }, [{ type: 'user.login_failed', payload: { user_id: user.id, ip_address: ctx.client.ip, user_agent: ctx.client.userAgent } }], metadataFrom(ctx)),
            );
          }
          if (!after.allowed) throw accountLocked(after.retryAfterSeconds);
          throw invalidCredentials();
        }
        account = 'right';
        await limits.loginAccount.reset(accountKey);
        assertMaySignIn(user);
        return user;
      } finally {
        if (account !== 'failed') await limits.loginIp.release(ctx.client.ip);
        // Neither right nor wrong (the database failed): not a guess.
        if (account === 'taken') await limits.loginAccount.release(accountKey);
      }
    },

    /**
     * The end of every first factor (password, social login): a session, or a second-factor
     * challenge when the account has one.
     */
    async signIn(ctx: RequestContext, user: User, method: string, deviceName?: string): Promise<SignInResult> {
      const challenge = (await deps.secondFactor?.challengeFor(ctx, user, method, deviceName)) ?? null;
      if (challenge) return { kind: 'challenge', challenge };
      return { kind: 'session', tokens: await inTransaction(sequelize, ctx, (t) => issueSession(ctx, user, method, deviceName, t)) };
    },

    /**
     * Rotates a refresh token. A token used before means it was copied: the whole session ends,
     * for the thief and the owner alike, and the owner signs in again.
     */
    async refresh(ctx: RequestContext, refreshToken: string): Promise<IssuedTokens> {
      const outcome = await inTransaction(sequelize, ctx, async (t) => {
        const record = await sessions.findRefreshTokenForUpdate(refreshToken, t);
        if (!record || record.sessionRevoked || record.expiresAt <= new Date() || record.sessionExpiresAt <= new Date()) return { error: invalidRefreshToken() };
        if (record.usedAt) {
          const ended = await sessions.revoke(record.userId, 'refresh_token_reused', t, { only: record.sessionId });
          await revocations.revokeSessions(ended);
          await recordEvents(
            t,
            { type: 'user', id: record.userId },
            [{ type: 'user.session_revoked', payload: { user_id: record.userId, session_id: record.sessionId, reason: 'refresh_token_reused', ip_address: ctx.client.ip } }],
            metadataFrom(ctx),
          );
          return { error: refreshTokenReused() };
        }
        const user = (await users.findById(record.userId, t))!;
        if (isBlocked(user)) return { error: accountSuspended(user.status === 'banned' ? null : user.suspendedUntil) };
        await sessions.markRefreshTokenUsed(refreshToken, t);
        const next = newSecret('rt');
        // The family keeps its end: rotation does not extend a session beyond its 7 days.
        await sessions.addRefreshToken(record.sessionId, next, record.sessionExpiresAt, t);
        await sessions.touch(record.sessionId, ctx.client.ip, t);
        return {
          tokens: {
            accessToken: signFor(user, record.sessionId),
            expiresIn: tokens.accessTtlSeconds,
            refreshToken: next,
            refreshTokenExpiresAt: record.sessionExpiresAt,
            sessionId: record.sessionId,
            userId: user.id,
          },
        };
      });
      // The revocation of a reused token's session must commit: the error is thrown after it.
      if ('error' in outcome) throw outcome.error;
      return outcome.tokens;
    },

    /** Ends one session of the user (logout, or a device removed from the list). Unknown or foreign ids are 404. */
    async endSession(ctx: RequestContext, userId: string, sessionId: string, reason: 'logout' | 'revoked_by_user'): Promise<void> {
      await inTransaction(sequelize, ctx, async (t) => {
        const ended = await sessions.revoke(userId, reason, t, { only: sessionId });
        if (ended.length === 0) throw notFound('No active session of yours has this id.');
        await revocations.revokeSessions(ended);
        await recordEvents(t, { type: 'user', id: userId }, [{ type: 'user.session_revoked', payload: { user_id: userId, session_id: sessionId, reason } }], metadataFrom(ctx));
      });
    },

    listSessions: (userId: string): Promise<Session[]> => sessions.listActive(userId),
  };
}
