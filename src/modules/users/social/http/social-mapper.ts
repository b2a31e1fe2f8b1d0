import type { components } from '../../../../../generated/api';
import { toLoginResult } from '../../http/user-mapper';
import type { SocialLoginResult } from '../domain/social-login';

type Schemas = components['schemas'];

export function toSocialLoginResult(r: SocialLoginResult): Schemas['SocialLoginResult'] {
  if (r.kind !== 'link_required') return toLoginResult(r);
  return {
    object: 'social_link_required',
    provider: r.provider,
    email: r.email,
    link_token: r.linkToken,
    confirm_with: r.confirmWith,
    expires_at: r.expiresAt.toISOString(),
  };
}
