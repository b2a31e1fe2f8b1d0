export type Role = 'user' | 'moderator' | 'admin';
export type AccountStatus = 'active' | 'suspended' | 'banned';

export interface NotificationPreferences {
  chat: boolean;
  keyword_alerts: boolean;
  transactions: boolean;
  marketing: boolean;
}

/** A user as the domain sees it: personal data decrypted, no storage details. */
export interface User {
  id: string;
  email: string;
  emailVerifiedAt: Date | null;
  passwordHash: string | null;
  nickname: string;
  bio: string | null;
  avatarUrl: string | null;
  /** National format, `010-1234-5678`. */
  phone: string | null;
  notificationPrefs: NotificationPreferences;
  roles: Role[];
  status: AccountStatus;
  suspendedUntil: Date | null;
  identityVerifiedAt: Date | null;
  twoFactor: { totp: boolean; sms: boolean };
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface Session {
  id: string;
  userId: string;
  deviceName: string;
  ipAddress: string;
  createdAt: Date;
  lastUsedAt: Date;
}

/** A suspension whose end has passed no longer blocks; banned is for good. */
export function isBlocked(user: Pick<User, 'status' | 'suspendedUntil'>, now = new Date()): boolean {
  if (user.status === 'banned') return true;
  if (user.status === 'suspended') return user.suspendedUntil === null || user.suspendedUntil > now;
  return false;
}

/** Lower-cased and trimmed: the form the blind index is computed over. */
export const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** `01012345678`, `010-1234-5678` and `+821012345678` are one number: kept as `010-1234-5678`. */
export function normalisePhone(phone: string): string {
  const digits = phone.replace(/[^0-9+]/g, '').replace(/^\+82/, '0');
  return `${digits.slice(0, 3)}-${digits.slice(3, 7)}-${digits.slice(7)}`;
}

/** Active sessions per user: signing in past it ends the least recently used (the device list shows them all). */
export const MAX_ACTIVE_SESSIONS = 100;
