import type { components } from '../../../../../generated/api';
import type { IdentityVerificationRecord } from '../domain/identity-verification';

type Schemas = components['schemas'];
type FailureCode = NonNullable<Schemas['IdentityVerification']['failure_code']>;

export function toIdentityVerification(v: IdentityVerificationRecord, now = new Date()): Schemas['IdentityVerification'] {
  const status = v.status === 'pending' && v.expiresAt <= now ? 'expired' : v.status;
  return {
    object: 'identity_verification',
    id: v.id,
    status,
    ...(status === 'pending' ? { auth_url: v.authUrl } : {}),
    ...(status === 'failed' && v.failureCode ? { failure_code: v.failureCode as FailureCode } : {}),
    expires_at: v.expiresAt.toISOString(),
    ...(v.completedAt ? { completed_at: v.completedAt.toISOString() } : {}),
    created_at: v.createdAt.toISOString(),
  };
}
