import { AppError } from '../../../platform/errors';
import type { Role } from './user';

/**
 * What staff may do, by permission; roles only bundle permissions. Operations check a
 * permission, never a role, so moving a power between roles is one line here (and a row of the
 * matrix in the spec's Admin tag and docs/roles.md, which must say the same).
 */
export type Permission =
  | 'users:read'
  | 'users:suspend'
  | 'users:suspend_long'
  | 'users:ban'
  | 'users:manage_staff'
  | 'users:assign_roles'
  | 'listings:moderate'
  | 'categories:edit'
  | 'jobs:manage';

const MODERATOR: readonly Permission[] = ['users:read', 'users:suspend', 'listings:moderate'];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  user: [],
  moderator: MODERATOR,
  admin: [...MODERATOR, 'users:suspend_long', 'users:ban', 'users:manage_staff', 'users:assign_roles', 'categories:edit', 'jobs:manage'],
};

export const ROLES: readonly Role[] = ['user', 'moderator', 'admin'];

/** A suspension longer than this needs `users:suspend_long`. */
export const SHORT_SUSPENSION_MAX_DAYS = 30;
/** Longer than this is a ban, not a suspension. */
export const SUSPENSION_MAX_DAYS = 365;

const isRole = (r: string): r is Role => (ROLES as readonly string[]).includes(r);

/** Unknown role names (a token from an older release, say) grant nothing. */
export function permissionsOf(roles: readonly string[]): Set<Permission> {
  return new Set(roles.filter(isRole).flatMap((r) => ROLE_PERMISSIONS[r]));
}

export const hasPermission = (subject: { roles: readonly string[] }, permission: Permission) => permissionsOf(subject.roles).has(permission);

/** The roles that grant a permission, for messages that tell the caller what they lack. */
export const rolesGranting = (permission: Permission) => ROLES.filter((r) => ROLE_PERMISSIONS[r].includes(permission));

export const forbidden = (permission: Permission) =>
  new AppError(403, 'forbidden', 'Not allowed', `This needs the ${permission} permission (role ${rolesGranting(permission).join(' or ')}).`);

/** Throws 403 `forbidden`, naming the permission, unless the actor's roles grant it. */
export function requirePermission(subject: { roles: readonly string[] }, permission: Permission): void {
  if (!hasPermission(subject, permission)) throw forbidden(permission);
}

/** Every account holds `user`; the order is fixed so that equal sets compare equal. */
export const normaliseRoles = (roles: readonly string[]): Role[] => ROLES.filter((r) => r === 'user' || roles.includes(r));
