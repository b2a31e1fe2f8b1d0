import type { components } from '../../../../../generated/api';
import type { Account } from '../data/account-repository';
import { statusInForce } from '../domain/account-admin';
import { normaliseRoles } from '../../domain/permissions';

type Schemas = components['schemas'];

/** The staff view of an account: never the password hash, phone or second-factor secrets. */
export function toUserAccount(a: Account): Schemas['UserAccount'] {
  const status = statusInForce(a);
  return {
    object: 'user_account',
    id: a.id,
    email: a.email,
    email_verified: a.emailVerified,
    nickname: a.nickname,
    roles: normaliseRoles(a.roles),
    status,
    ...(status !== 'active'
      ? {
          suspension: {
            kind: status === 'banned' ? ('ban' as const) : ('suspend' as const),
            // Rows suspended outside these operations (by hand, in SQL) may have no reason.
            reason: a.suspensionReason || 'No reason recorded.',
            ...(status === 'suspended' && a.suspendedUntil ? { until: a.suspendedUntil.toISOString() } : {}),
          },
        }
      : {}),
    identity_verified: a.identityVerified,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  };
}
