import type { components } from '../../../../../generated/api';
import type { TotpEnrolment } from '../domain/enrolment';
import type { TwoFactorState } from '../domain/model';

type Schemas = components['schemas'];

export const toTwoFactorStatus = (s: TwoFactorState): Schemas['TwoFactorStatus'] => ({
  object: 'two_factor',
  totp: s.totp,
  sms: s.sms,
  recovery_codes_remaining: s.recoveryCodesRemaining,
  ...(s.recoveryCodes ? { recovery_codes: s.recoveryCodes } : {}),
});

export const toTotpEnrolment = (e: TotpEnrolment): Schemas['TotpEnrolment'] => ({
  object: 'totp_enrolment',
  secret: e.secret,
  otpauth_uri: e.otpauthUri,
  qr_code_data_url: e.qrCodeDataUrl,
  expires_at: e.expiresAt.toISOString(),
});

export const toSmsCodeSent = (s: { phone: string; expiresAt: Date }): Schemas['SmsCodeSent'] => ({
  object: 'sms_code',
  phone: s.phone,
  expires_at: s.expiresAt.toISOString(),
});
