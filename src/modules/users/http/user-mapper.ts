import type { components } from '../../../../generated/api';
import type { IssuedTokens, SignInResult } from '../domain/sessions';
import { maskIp } from '../domain/sessions';
import type { Session, User } from '../domain/user';
import type { UserProfileDoc } from '../user-profile.projection';

type Schemas = components['schemas'];

export function toMyProfile(u: User): Schemas['MyProfile'] {
  return {
    object: 'user_profile',
    id: u.id,
    email: u.email,
    email_verified: u.emailVerifiedAt !== null,
    ...(u.phone ? { phone: u.phone } : {}),
    nickname: u.nickname,
    ...(u.bio ? { bio: u.bio } : {}),
    ...(u.avatarUrl ? { avatar_url: u.avatarUrl } : {}),
    roles: u.roles,
    identity_verified: u.identityVerifiedAt !== null,
    two_factor: u.twoFactor,
    notification_preferences: u.notificationPrefs,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
  };
}

export function toPublicUser(d: UserProfileDoc): Schemas['PublicUser'] {
  return {
    object: 'user',
    id: d.id,
    nickname: d.nickname,
    ...(d.bio ? { bio: d.bio } : {}),
    ...(d.avatar_url ? { avatar_url: d.avatar_url } : {}),
    identity_verified: d.identity_verified,
    joined_at: d.joined_at,
  };
}

export function toSessionTokens(t: IssuedTokens): Schemas['SessionTokens'] {
  return {
    object: 'session_tokens',
    token_type: 'Bearer',
    access_token: t.accessToken,
    expires_in: t.expiresIn,
    refresh_token: t.refreshToken,
    refresh_token_expires_at: t.refreshTokenExpiresAt.toISOString(),
    session_id: t.sessionId,
    user_id: t.userId,
  };
}

export function toSession(s: Session, currentSessionId: string): Schemas['Session'] {
  return {
    object: 'session',
    id: s.id,
    device_name: s.deviceName,
    ip_address: maskIp(s.ipAddress),
    current: s.id === currentSessionId,
    created_at: s.createdAt.toISOString(),
    last_used_at: s.lastUsedAt.toISOString(),
  };
}

export function toLoginResult(r: SignInResult): Schemas['LoginResult'] {
  if (r.kind === 'session') return toSessionTokens(r.tokens);
  return {
    object: 'login_challenge',
    challenge_token: r.challenge.challengeToken,
    methods: r.challenge.methods,
    expires_at: r.challenge.expiresAt.toISOString(),
  };
}
