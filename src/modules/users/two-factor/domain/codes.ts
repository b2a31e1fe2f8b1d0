import { randomBytes, randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export const TOTP_ISSUER = 'Junggo';
const PERIOD_SECONDS = 30;
// One step either side: phones whose clocks are off by up to 30 s still work.
const WINDOW = 1;

const totpFor = (secretBase32: string, label = 'account') =>
  new TOTP({ issuer: TOTP_ISSUER, label, algorithm: 'SHA1', digits: 6, period: PERIOD_SECONDS, secret: Secret.fromBase32(secretBase32) });

/** A new 160-bit secret (RFC 4226's recommended length), in base32. */
export const newTotpSecret = () => new Secret({ size: 20 }).base32;

export const otpauthUri = (secretBase32: string, email: string) => totpFor(secretBase32, email).toString();

/** The time step of the code if it is valid now (within the window), else null. */
export function totpStep(secretBase32: string, code: string, now = Date.now()): number | null {
  const delta = totpFor(secretBase32).validate({ token: code, timestamp: now, window: WINDOW });
  return delta === null ? null : TOTP.counter({ period: PERIOD_SECONDS, timestamp: now }) + delta;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const RECOVERY_CODE_COUNT = 10;

/** `XXXX-XXXX-XXXX`: 60 random bits in Crockford base32, easy to copy by hand. */
export function newRecoveryCode(): string {
  const chars = [...randomBytes(12)].map((b) => CROCKFORD[b & 31]).join('');
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8)}`;
}

/** The form that is hashed: upper case, no separators, and the letters people confuse with digits read as Crockford does. */
export const normaliseRecoveryCode = (code: string) =>
  code
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/[IL]/g, '1')
    .replace(/O/g, '0');

export const isRecoveryCodeShaped = (code: string) => normaliseRecoveryCode(code).length === 12;

export const newSmsCode = () => String(randomInt(0, 1_000_000)).padStart(6, '0');

/** `010-1234-5678` -> `010-****-5678`. */
export const maskPhone = (phone: string) => phone.replace(/^(\d{3})-\d{4}-(\d{4})$/, '$1-****-$2');

/** `010-1234-5678` -> `+821012345678`, the form the SMS port takes. */
export const e164 = (phone: string) => `+82${phone.replace(/-/g, '').slice(1)}`;
