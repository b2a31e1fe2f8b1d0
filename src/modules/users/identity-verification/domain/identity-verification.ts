import type { Sequelize } from 'sequelize';
import { IdentityVerificationError, type IdentityVerifier, type ReturnedParams } from '../../../../integrations/identity';
import type { RequestContext } from '../../../../platform/context';
import { inTransaction } from '../../../../platform/db/transaction';
import { notFound } from '../../../../platform/errors';
import { metadataFrom, type RecordEvents } from '../../../../platform/events/event-store';
import type { AttemptLimiter } from '../../../../platform/limits/attempt-limiter';
import { newId } from '../../domain/ids';
import { CiAlreadyUsedError, type IdentityVerificationRepository } from '../data/identity-verification-repository';
import { internationalAge, koreanDate, MIN_VERIFIED_AGE } from './age';
import {
  accountAlreadyVerified,
  identityAlreadyVerified,
  providerUnavailable,
  tooManyStarts,
  underage,
  verificationExpired,
  verificationInvalid,
  verificationNotCompleted,
  verificationNotPending,
} from './problems';

export type VerificationStatus = 'pending' | 'verified' | 'failed';

/** A verification as kept: never the person's data, only how it went. */
export interface IdentityVerificationRecord {
  id: string;
  userId: string;
  transactionId: string;
  status: VerificationStatus;
  /** The problem code a failed completion got. */
  failureCode: string | null;
  authUrl: string;
  createdAt: Date;
  expiresAt: Date;
  completedAt: Date | null;
}

export interface IdentityVerificationDeps {
  sequelize: Sequelize;
  verifications: IdentityVerificationRepository;
  verifier: IdentityVerifier;
  recordEvents: RecordEvents;
  /** The keyed hash under which a CI is kept (the CI itself never is). */
  ciHash: (ci: string) => string;
  /** Where the provider's window sends the browser back: the web app's page for this verification. */
  returnUrl: (verificationId: string) => string;
  /** Starts per user (each one is a paid provider call). */
  startLimit: AttemptLimiter;
  now?: () => Date;
}

// Same generator as user ids; only the prefix differs.
const newVerificationId = () => `idv_${newId('usr').slice(4)}`;
const PROVIDER_RETRY_AFTER_SECONDS = 30;
/** The outcomes a failed verification shows (`failure_code`); anything else keeps the default, invalid. */
const FAILURE_CODES = new Set([
  'identity_verification_not_completed',
  'identity_verification_invalid',
  'identity_verification_expired',
  'identity_verification_underage',
  'identity_already_verified',
  'account_already_verified',
]);

export function identityVerificationUseCases(deps: IdentityVerificationDeps) {
  const { sequelize, verifications, verifier, recordEvents } = deps;
  const now = deps.now ?? (() => new Date());

  async function startAtProvider(ctx: RequestContext, verificationId: string) {
    try {
      return await verifier.start({ returnUrl: deps.returnUrl(verificationId) });
    } catch (err) {
      if (err instanceof IdentityVerificationError && err.retryable) {
        ctx.log.warn({ err, code: err.code }, 'identity provider unavailable');
        throw providerUnavailable(PROVIDER_RETRY_AFTER_SECONDS);
      }
      throw err;
    }
  }

  /** The provider's result, or the problem that the verification failed with. */
  async function readResult(ctx: RequestContext, record: IdentityVerificationRecord, resumeSecret: string, returned: ReturnedParams) {
    try {
      return await verifier.result(record.transactionId, { resumeSecret, returned });
    } catch (err) {
      if (!(err instanceof IdentityVerificationError)) throw err;
      ctx.log.info({ code: err.code, verification_id: record.id }, 'identity verification result refused');
      if (err.code === 'not_completed') throw verificationNotCompleted();
      if (err.code === 'expired') throw verificationExpired();
      throw verificationInvalid();
    }
  }

  return {
    /** Opens a verification at the provider and keeps what reading its result needs. */
    async start(ctx: RequestContext, userId: string): Promise<IdentityVerificationRecord> {
      const allowed = await deps.startLimit.hit(userId);
      if (!allowed.allowed) throw tooManyStarts(allowed.retryAfterSeconds);
      const verifiedAt = await verifications.identityVerifiedAt(userId);
      if (verifiedAt === undefined) throw notFound('The account no longer exists.');
      if (verifiedAt) throw accountAlreadyVerified();
      const id = newVerificationId();
      const started = await startAtProvider(ctx, id);
      return inTransaction(sequelize, ctx, (t) =>
        verifications.insert({ id, userId, transactionId: started.transactionId, resumeSecret: started.resumeSecret, authUrl: started.authUrl, expiresAt: started.expiresAt }, t),
      );
    },

    async get(userId: string, id: string): Promise<IdentityVerificationRecord> {
      const record = await verifications.find(userId, id);
      if (!record) throw notFound('No identity verification of yours has this id.');
      return record;
    },

    /**
     * Reads the provider's result for the caller's own pending verification (used up by the
     * attempt), refuses under-14s and identities already verifying another account, and puts the
     * badge on the account: `user.verified`.
     */
    async complete(ctx: RequestContext, userId: string, id: string, returned: ReturnedParams): Promise<IdentityVerificationRecord> {
      const claimed = await verifications.claim(userId, id);
      if (!claimed) {
        if (!(await verifications.find(userId, id))) throw notFound('No identity verification of yours has this id.');
        throw verificationNotPending();
      }
      const { record, resumeSecret } = claimed;
      try {
        if (record.expiresAt <= now()) throw verificationExpired();
        const identity = await readResult(ctx, record, resumeSecret, returned);
        if (internationalAge(identity.birthDate, koreanDate(now())) < MIN_VERIFIED_AGE) throw underage();
        return await inTransaction(sequelize, ctx, async (t) => {
          const account = await verifications.lockAccount(userId, t);
          if (!account) throw notFound('The account no longer exists.');
          if (account.identityVerifiedAt) throw accountAlreadyVerified();
          const verifiedAt = now();
          await verifications.setIdentity(userId, { verifiedAt, birthYear: Number(identity.birthDate.slice(0, 4)), ciHash: deps.ciHash(identity.ci), phone: identity.phone }, t);
          const done = await verifications.markVerified(record.id, t);
          await recordEvents(t, { type: 'user', id: userId }, [{ type: 'user.verified', payload: { user_id: userId, verified_at: verifiedAt.toISOString() } }], metadataFrom(ctx));
          return done;
        });
      } catch (err) {
        const problem = err instanceof CiAlreadyUsedError ? identityAlreadyVerified() : err;
        const code = (problem as { code?: unknown }).code;
        if (typeof code === 'string' && FAILURE_CODES.has(code)) await verifications.recordFailure(record.id, code);
        throw problem;
      }
    },
  };
}

export type IdentityVerificationUseCases = ReturnType<typeof identityVerificationUseCases>;
