import type { Sequelize, Transaction } from 'sequelize';
import type { RequestContext } from '../../../../platform/context';
import { inTransaction } from '../../../../platform/db/transaction';
import { notFound, unauthenticated } from '../../../../platform/errors';
import { metadataFrom, type RecordEvents } from '../../../../platform/events/event-store';
import type { SessionRepository } from '../../data/session-repository';
import type { TokenRevocations } from '../../data/token-revocations';
import {
  forbidden,
  normaliseRoles,
  requirePermission,
  SHORT_SUSPENSION_MAX_DAYS,
  SUSPENSION_MAX_DAYS,
  type Permission,
} from '../../domain/permissions';
import { isBlocked, type AccountStatus, type Role } from '../../domain/user';
import type { Account, AccountFilters, AccountRepository } from '../data/account-repository';
import { decodeCursor, encodeCursor, filterFingerprint } from './cursor';
import { cannotTargetSelf, lastAdmin, untilInvalid, untilNotAllowed, untilRequired, untilTooFar, untilTooSoon } from './problems';

export interface AccountAdminDeps {
  sequelize: Sequelize;
  accounts: AccountRepository;
  sessions: SessionRepository;
  revocations: TokenRevocations;
  recordEvents: RecordEvents;
  /** A suspension must outlast every access token issued before it (and the block entry, which lives as long). */
  accessTtlSeconds: number;
  /** Arranges for the suspension to be lifted when it ends (a delayed job); `causationId` makes it once per suspension. */
  scheduleSuspensionEnd(userId: string, until: Date, causationId: string): Promise<void>;
}

export interface SuspensionRequest {
  kind: 'suspend' | 'ban';
  reason: string;
  until?: string;
}

export interface AccountSearch {
  email?: string;
  nicknamePrefix?: string;
  status?: AccountStatus;
  role?: Role;
  limit: number;
  cursor?: string;
}

const DAY_MS = 86_400_000;
const userRef = (id: string) => ({ type: 'user', id });
const isStaff = (a: Pick<Account, 'roles'>) => a.roles.includes('moderator') || a.roles.includes('admin');
const isActiveAdmin = (a: Account) => a.roles.includes('admin') && !isBlocked(a);

/** The status in force: a suspension whose end has passed no longer counts. */
export const statusInForce = (a: Pick<Account, 'status' | 'suspendedUntil'>): AccountStatus => (a.status === 'suspended' && !isBlocked(a) ? 'active' : a.status);

/** Staff operations on accounts: search, suspend or ban, reinstate, assign roles. Each change is an audited event. */
export function accountAdminUseCases(deps: AccountAdminDeps) {
  const { sequelize, accounts, sessions, revocations, recordEvents } = deps;

  /** A cheap refusal from the token's roles, before any lock is taken. */
  function tokenAllows(ctx: RequestContext, permission: Permission): void {
    if (!ctx.actor) throw unauthenticated();
    requirePermission(ctx.actor, permission);
  }

  /**
   * The acting staff member, with the permission checked on the token and then on the account
   * as it is now, so that a role taken away, or a suspension, ends its powers even within the
   * second a token may outlive the change. Inside a staff transaction it runs after the staff
   * lock, so it sees every earlier staff change.
   */
  async function staffWith(ctx: RequestContext, permission: Permission, t?: Transaction): Promise<Account> {
    tokenAllows(ctx, permission);
    const actor = await accounts.findById(ctx.actor!.userId, t);
    if (!actor || isBlocked(actor)) throw forbidden(permission);
    requirePermission(actor, permission);
    return actor;
  }

  async function findTarget(userId: string, t: Transaction): Promise<Account> {
    const target = await accounts.findByIdForUpdate(userId, t);
    if (!target) throw notFound('No account has this id.');
    return target;
  }

  async function assertAnotherAdminRemains(target: Account, t: Transaction): Promise<void> {
    if (isActiveAdmin(target) && (await accounts.countOtherActiveAdmins(target.id, t)) === 0) throw lastAdmin();
  }

  /** Checks the request's shape rules and which permissions it needs beyond `users:suspend`. */
  function planSuspension(input: SuspensionRequest, now: Date): { until: Date | null; needs: Permission[] } {
    if (input.kind === 'ban') {
      if (input.until !== undefined) throw untilNotAllowed();
      return { until: null, needs: ['users:ban'] };
    }
    if (input.until === undefined) throw untilRequired();
    const until = new Date(input.until);
    // RFC 3339 allows what a Date cannot hold (a leap second, an offset without minutes): an
    // invalid Date compares false with everything, and would pass every bound below.
    if (Number.isNaN(until.getTime())) throw untilInvalid();
    if (until.getTime() < now.getTime() + deps.accessTtlSeconds * 1000) throw untilTooSoon(deps.accessTtlSeconds);
    if (until.getTime() > now.getTime() + SUSPENSION_MAX_DAYS * DAY_MS) throw untilTooFar(SUSPENSION_MAX_DAYS);
    return { until, needs: until.getTime() > now.getTime() + SHORT_SUSPENSION_MAX_DAYS * DAY_MS ? ['users:suspend_long'] : [] };
  }

  /** Who may act on this account, given what it is now. */
  function needsForTarget(target: Account): Permission[] {
    const needs: Permission[] = [];
    if (target.status === 'banned') needs.push('users:ban');
    if (isStaff(target)) needs.push('users:manage_staff');
    return needs;
  }

  const requireAll = (actor: Account, needs: Permission[]) => needs.forEach((p) => requirePermission(actor, p));

  return {
    /**
     * For other components' staff operations (the listings review queue): the acting staff
     * member's id once the permission holds on the token and on the account as it is now. Given
     * the write's transaction, it takes the staff lock first, as every staff write does, so a
     * role taken away concurrently is seen.
     */
    async requireStaff(ctx: RequestContext, permission: Permission, t?: Transaction): Promise<string> {
      if (t) {
        tokenAllows(ctx, permission);
        await accounts.lockStaffChanges(t);
      }
      return (await staffWith(ctx, permission, t)).id;
    },

    /** One page of accounts, newest first, with the cursor bound to the filters. */
    async list(ctx: RequestContext, q: AccountSearch): Promise<{ items: Account[]; nextCursor: string | null }> {
      await staffWith(ctx, 'users:read');
      const filters: AccountFilters = {
        ...(q.email ? { emailIndex: accounts.emailIndex(q.email) } : {}),
        ...(q.nicknamePrefix ? { nicknamePrefix: q.nicknamePrefix.toLowerCase() } : {}),
        ...(q.status ? { status: q.status } : {}),
        ...(q.role ? { role: q.role } : {}),
      };
      const fingerprint = filterFingerprint({ e: filters.emailIndex, n: filters.nicknamePrefix, s: filters.status, r: filters.role });
      const after = q.cursor ? decodeCursor(fingerprint, q.cursor) : null;
      const rows = await accounts.search(filters, after, q.limit + 1);
      const items = rows.slice(0, q.limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > q.limit && last ? encodeCursor(fingerprint, last) : null };
    },

    async get(ctx: RequestContext, userId: string): Promise<Account> {
      await staffWith(ctx, 'users:read');
      const account = await accounts.findById(userId);
      if (!account) throw notFound('No account has this id.');
      return account;
    },

    /**
     * Suspends until a time, or bans. Access tokens stop at once (block entry, written before
     * the commit); a ban also ends every session. A suspension is lifted by a job when it ends.
     */
    async suspend(ctx: RequestContext, userId: string, input: SuspensionRequest): Promise<Account> {
      tokenAllows(ctx, input.kind === 'ban' ? 'users:ban' : 'users:suspend');
      const plan = planSuspension(input, new Date());
      if (ctx.actor?.userId === userId) throw cannotTargetSelf();
      const reason = input.reason.trim();
      return inTransaction(sequelize, ctx, async (t) => {
        await accounts.lockStaffChanges(t);
        const actor = await staffWith(ctx, input.kind === 'ban' ? 'users:ban' : 'users:suspend', t);
        const target = await findTarget(userId, t);
        requireAll(actor, [...plan.needs, ...needsForTarget(target)]);
        await assertAnotherAdminRemains(target, t);

        const account = await accounts.setSuspension(target.id, { status: input.kind === 'ban' ? 'banned' : 'suspended', until: plan.until, reason }, t);
        await revocations.blockUser(target.id);
        const ended = input.kind === 'ban' ? await sessions.revoke(target.id, 'banned', t) : [];
        await revocations.revokeSessions(ended);
        const [event] = await recordEvents(
          t,
          userRef(target.id),
          [
            {
              type: 'user.suspended',
              payload: {
                user_id: target.id,
                kind: input.kind,
                reason,
                ...(plan.until ? { until: plan.until.toISOString() } : {}),
                by: actor.id,
                previous_status: statusInForce(target),
                sessions_ended: ended.length,
              },
            },
          ],
          metadataFrom(ctx),
        );
        const until = plan.until;
        // Bull is not PostgreSQL, so the job is queued once the change is durable. A lost job
        // leaves an ended suspension on the row, which blocks nothing (isBlocked) but keeps the
        // public profile hidden until staff reinstate the account; the log says which.
        if (until) {
          t.afterCommit(() =>
            deps.scheduleSuspensionEnd(target.id, until, event!.id).catch((err) => ctx.log.error({ err, user_id: target.id }, 'could not schedule the end of a suspension')),
          );
        }
        return account;
      });
    },

    /** Lifts a suspension or ban; an active account is returned unchanged, with no event. */
    async reinstate(ctx: RequestContext, userId: string): Promise<Account> {
      tokenAllows(ctx, 'users:suspend');
      return inTransaction(sequelize, ctx, async (t) => {
        await accounts.lockStaffChanges(t);
        const actor = await staffWith(ctx, 'users:suspend', t);
        const target = await findTarget(userId, t);
        if (target.status === 'active') return target;
        requireAll(actor, needsForTarget(target));
        const account = await accounts.clearSuspension(target.id, t);
        await recordEvents(
          t,
          userRef(target.id),
          [{ type: 'user.reinstated', payload: { user_id: target.id, reason: 'lifted', by: actor.id, previous_status: statusInForce(target) } }],
          metadataFrom(ctx),
        );
        // After the commit: unblocking before it would let tokens through while the account is
        // still suspended; a failed unblock only keeps the user out until the entry expires. The
        // entry lifted is the one read now, under the staff lock, which a later suspension needs
        // to block again: so that one's entry stays.
        const block = await revocations.blockOf(target.id).catch((err: unknown) => {
          ctx.log.error({ err, user_id: target.id }, 'could not read the token block to lift; it stays until it expires');
          return null;
        });
        if (block) {
          t.afterCommit(() => revocations.unblockUser(target.id, block).catch((err) => ctx.log.error({ err, user_id: target.id }, 'could not unblock tokens after reinstatement')));
        }
        return account;
      });
    },

    /**
     * Replaces the roles (`user` always kept). Tokens issued before the change must be
     * refreshed, so the new roles apply at once. The last active admin cannot lose the role.
     */
    async replaceRoles(ctx: RequestContext, userId: string, requested: readonly string[]): Promise<Account> {
      tokenAllows(ctx, 'users:assign_roles');
      const roles = normaliseRoles(requested);
      return inTransaction(sequelize, ctx, async (t) => {
        await accounts.lockStaffChanges(t);
        const actor = await staffWith(ctx, 'users:assign_roles', t);
        const target = await findTarget(userId, t);
        const previous = normaliseRoles(target.roles);
        if (previous.join() === roles.join()) return target;
        if (!roles.includes('admin')) await assertAnotherAdminRemains(target, t);

        const account = await accounts.setRoles(target.id, roles, t);
        await revocations.requireReissue(target.id);
        await recordEvents(t, userRef(target.id), [{ type: 'user.roles_changed', payload: { user_id: target.id, previous, roles, by: actor.id } }], metadataFrom(ctx));
        return account;
      });
    },
  };
}

export type AccountAdmin = ReturnType<typeof accountAdminUseCases>;
